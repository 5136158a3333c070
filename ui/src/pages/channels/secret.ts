// Webhook signing secrets made in the browser: `whsec_` and the base64 of 24 random bytes (the
// server wants at least 16), as Standard Webhooks spell them. crypto.getRandomValues is the
// browser's CSPRNG; the secret never goes anywhere but into the form and the receiver's config.

const SECRET_BYTES = 24;

export function generateWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}
