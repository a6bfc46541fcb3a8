// The layers of lib/, top to bottom: a module may import from its own layer and
// the layers below it, never from a layer above, and never in a cycle.
// `npm run depcruise` checks it (part of `npm test`); `npm run architecture:svg`
// draws docs/architecture.svg from the same file (README: Architecture).
//
//   entry     the package's entry points: the plugins' wiring and the public types
//   handlers  routes and guards: thin request handlers
//   context   request.oidc of each kind of caller, and forwarding to downstreams
//   parts     provider/, session/, tokens/ and each part's options and configuration
//   core      errors, settings reader, the shared request-context contract, audit
const LAYERS = [
  {
    name: 'entry',
    color: '#f4cccc',
    paths: ['^lib/index\\.ts$', '^lib/types\\.ts$', '^lib/resource-server/(index|plugin)\\.ts$', '^lib/bin/', '^lib/dev-idp(-acr|-token-exchange|-types|-support)?\\.ts$']
  },
  {
    name: 'handlers',
    color: '#fce5cd',
    paths: ['^lib/routes/', '^lib/guards/', '^lib/resource-server/relying-party\\.ts$']
  },
  {
    name: 'context',
    color: '#fff2cc',
    paths: ['^lib/context\\.ts$', '^lib/refresh-flight\\.ts$', '^lib/runtime\\.ts$', '^lib/downstream\\.ts$', '^lib/downstream-exchange\\.ts$', '^lib/resource-server/context\\.ts$', '^lib/basic/context\\.ts$']
  },
  {
    name: 'parts',
    color: '#d9ead3',
    paths: [
      '^lib/provider/', '^lib/session/', '^lib/tokens/', '^lib/config\\.ts$', '^lib/options\\.ts$', '^lib/downstream-config\\.ts$',
      '^lib/basic/(config|credentials|options|throttle)\\.ts$', '^lib/resource-server/(config|discovery|types|verifier)\\.ts$'
    ]
  },
  {
    name: 'core',
    color: '#cfe2f3',
    paths: [
      '^lib/(errors|idp-errors|escape|claims|settings|contract|audit|return-to|outage-log)\\.ts$'
    ]
  }
]

const any = (paths) => paths.join('|')

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle is a design question: move what both sides need to the lower layer.',
      from: { path: '^lib/' },
      to: { circular: true }
    },
    {
      name: 'in-a-layer',
      severity: 'error',
      comment: 'Every module of lib/ belongs to one layer of .dependency-cruiser.cjs: add a new one there.',
      from: { path: '^lib/', pathNot: any(LAYERS.flatMap((l) => l.paths)) },
      to: {}
    },
    ...LAYERS.slice(1).map((layer, index) => ({
      name: `layer-${layer.name}`,
      severity: 'error',
      comment: `${layer.name} imports only from its own layer and below (${LAYERS.slice(index + 2).map((l) => l.name).join(', ') || 'nothing else'}).`,
      from: { path: any(layer.paths) },
      to: { path: any(LAYERS.slice(0, index + 1).flatMap((l) => l.paths)) }
    })),
    {
      name: 'resource-server-stands-alone',
      severity: 'error',
      comment: 'oidcResourceServer (fastify-oidc/resource-server) loads none of the relying party\'s login, session, cookie or Basic code.',
      from: { path: '^lib/resource-server/(index|plugin)\\.ts$' },
      to: { path: '^lib/(routes|session|basic)/|^lib/guards/(require-auth|basic)\\.ts$|^lib/(context|config|index|options|runtime)\\.ts$', reachable: true }
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file.',
      from: { path: '^lib/' },
      to: { couldNotResolve: true }
    }
  ],
  options: {
    // Type-only imports are dependencies too: a layer may not lean on an upper one's types.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    includeOnly: '^lib/'
  }
}
// For scripts/architecture-svg.mjs (not a dependency-cruiser setting: not enumerable).
Object.defineProperty(module.exports, 'layers', { value: LAYERS, enumerable: false })
