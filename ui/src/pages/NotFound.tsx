import { Link } from 'react-router';
import { PageHeader } from '../components/ui';

export function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>
        Nothing here. Go to the <Link to="/">overview</Link> or the <Link to="/tasks">task list</Link>.
      </p>
    </>
  );
}
