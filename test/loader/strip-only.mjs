// Keeps ts-node out of the test processes on Node 20. tap's TypeScript plugin
// (@tapjs/typescript) puts `--import=@tapjs/typescript/import` first in every
// test process's arguments, and that script loads ts-node unless
// TAP_TYPE_STRIP_ONLY is '1'; the plugin itself resets the variable to '0' on
// Node < 22, whatever the `test:unit` script sets. ts-node is never used (the
// esbuild hooks of register.mjs compile every .ts file first), but loading it
// and running its resolve hook for every import cost about 1.5 CPU-seconds per
// test file. The `test:unit` script loads this file through NODE_OPTIONS, whose
// `--import`s run before those on the command line, so the variable is '1'
// again when @tapjs/typescript's script reads it.
process.env.TAP_TYPE_STRIP_ONLY = '1'
