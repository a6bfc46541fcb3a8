// The embedded development IdP lives in the package (lib/dev-idp.ts), so that
// `npx fastify-oidc dev-idp` starts the same one the example and the tests use.
export * from '../lib/dev-idp.js'
