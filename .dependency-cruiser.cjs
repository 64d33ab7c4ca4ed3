// The layer order of src/ (docs/architecture.md): domain ← storage ← services ← http ← {api, gateway, oauth, dialects} ← app/cli.
// `npm run lint:deps` checks it, and `npm test` runs that first. Unit tests beside the code (*.test.ts) may reach
// across layers to set things up; the cycle rule holds for them too.

/** Unit tests beside the code. */
const TESTS = '\\.test\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A cycle hides which module comes first: every dependency runs one way.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      comment: 'domain/ holds types, rules and errors; it imports nothing from the other layers.',
      severity: 'error',
      from: { path: '^src/domain/', pathNot: TESTS },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'libraries-below-services',
      comment:
        'openapi/, egress/, probes/ and rate-limit/ are libraries the services (and http/) call: they know only the domain and each other.',
      severity: 'error',
      from: { path: '^src/(openapi|egress|probes|rate-limit)/', pathNot: TESTS },
      to: { path: '^src/', pathNot: '^src/(domain|openapi|egress|probes|rate-limit)/' },
    },
    {
      name: 'storage-below-services',
      comment: 'Repositories and migrations know the domain and nothing above it.',
      severity: 'error',
      from: { path: '^src/storage/', pathNot: TESTS },
      to: { path: '^src/', pathNot: '^src/(domain|storage)/' },
    },
    {
      name: 'migrations-are-frozen',
      comment:
        'A migration runs the same way forever: it imports Kysely and the storage engine module, nothing that changes with the app.',
      severity: 'error',
      from: { path: '^src/storage/migrations/', pathNot: TESTS },
      to: { path: '^src/|^node_modules/', pathNot: ['^src/storage/(engine|executor)\\.ts$', '^node_modules/kysely/'] },
    },
    {
      name: 'services-below-edges',
      comment: 'A service never sees a request: it imports no edge, no http plumbing, no composition root.',
      severity: 'error',
      from: { path: '^src/services/', pathNot: TESTS },
      to: { path: '^src/(http|api|gateway|oauth|dialects|cli)/|^src/[^/]+\\.ts$' },
    },
    {
      name: 'http-below-edges',
      comment: 'http/ is what every edge shares; it imports none of them.',
      severity: 'error',
      from: { path: '^src/http/', pathNot: TESTS },
      to: { path: '^src/(api|gateway|oauth|dialects|cli)/|^src/[^/]+\\.ts$' },
    },
    {
      name: 'edges-are-siblings',
      comment: 'api/, gateway/, oauth/ and dialects/ share through http/ and services/, never through each other.',
      severity: 'error',
      from: { path: '^src/(api|gateway|oauth|dialects)/', pathNot: TESTS },
      to: { path: '^src/(api|gateway|oauth|dialects)/', pathNot: '^src/$1/' },
    },
    {
      name: 'dialects-are-siblings',
      comment:
        'A dialect imports its own folder and the code dialects share (the files directly under dialects/), no other dialect.',
      severity: 'error',
      from: { path: '^src/dialects/([^/]+)/', pathNot: TESTS },
      to: { path: '^src/dialects/[^/]+/', pathNot: '^src/dialects/$1/' },
    },
    {
      name: 'alibaba-products-are-siblings',
      comment:
        "Bailian, DataWorks and DevS share Alibaba's signing, errors and throttling (the files directly under alibaba/), not each other.",
      severity: 'error',
      from: { path: '^src/dialects/alibaba/([^/]+)/', pathNot: TESTS },
      to: { path: '^src/dialects/alibaba/[^/]+/', pathNot: '^src/dialects/alibaba/$1/' },
    },
    {
      name: 'edges-below-the-root',
      comment: 'Only the composition root (app.ts and the files beside it) and the CLI import app.ts or cli/.',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: ['^src/cli/', TESTS] },
      to: { path: '^src/cli/|^src/[^/]+\\.ts$', pathNot: '^src/config\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/.*/fixtures/' },
    // Type-only imports count: a cycle through `import type` still ties two modules together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
