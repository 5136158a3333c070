// An example module task: the export receives ctx and returns JSON, which becomes the run's result.
export default async function hello(ctx) {
  ctx.log(`hello from run ${ctx.run.id}, attempt ${ctx.run.attempt}`);
  return { greeting: 'hello', payload: ctx.payload ?? null, at: new Date().toISOString() };
}
