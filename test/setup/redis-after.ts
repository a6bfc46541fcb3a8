// tap `after` script: stops the redis-server that test/setup/redis-before.ts
// started for this run (through its keeper) and waits until it is gone.
import { rmSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { readRun, runFile } from './redis-run.js'

const run = readRun(process.ppid)
if (run?.keeperPid !== undefined) {
  try {
    process.kill(run.keeperPid, 'SIGTERM')
    for (let i = 0; i < 100; i++) {
      process.kill(run.keeperPid, 0)
      await sleep(50)
    }
  } catch {
    // The keeper has exited, and its redis-server with it.
  }
}
rmSync(runFile(process.ppid), { force: true })
