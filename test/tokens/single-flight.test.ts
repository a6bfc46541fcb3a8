// SingleFlight: a flight stays registered until its work settles (however long
// its callers waited), is remembered for a while once it succeeded, forgotten
// when it fails, and a flight replaced by a newer one (another token) never
// unregisters its successor when it settles.
import t from 'tap'
import { SingleFlight, type Flight } from '../../lib/tokens/single-flight.js'

interface Manual extends Flight<string> {
  resolve: (value: string) => void
  reject: (err: Error) => void
}

function manual (): Manual {
  const handles: Pick<Manual, 'resolve' | 'reject'> = { resolve: () => {}, reject: () => {} }
  const settled = new Promise<string>((resolve, reject) => Object.assign(handles, { resolve, reject }))
  settled.catch(() => {})
  return { settled, pendingUntil: undefined, wait: async () => await settled, ...handles }
}

const tick = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

t.test('joined while running and after success; forgotten after failure', async (t) => {
  const flights = new SingleFlight<Manual>(30_000)
  const first = manual()
  t.equal(flights.join('s', 'at1', () => first), first, 'started')
  t.equal(flights.join('s', 'at1', () => manual()), first, 'joined while running')
  first.resolve('ok')
  await tick()
  t.equal(flights.join('s', 'at1', () => manual()), first, 'remembered once it succeeded')

  const failing = manual()
  t.equal(flights.join('f', 'at1', () => failing), failing)
  failing.reject(new Error('no'))
  await tick()
  const next = manual()
  t.equal(flights.join('f', 'at1', () => next), next, 'a failed flight is forgotten: a new one starts')
})

t.test('a running flight does not expire with the remembering time', async (t) => {
  const flights = new SingleFlight<Manual>(20)
  const slow = manual()
  flights.join('s', 'at1', () => slow)
  await new Promise((resolve) => setTimeout(resolve, 80))
  t.equal(flights.join('s', 'at1', () => manual()), slow, 'still registered past 20 ms while it runs')
  slow.resolve('late')
  await tick()
  await new Promise((resolve) => setTimeout(resolve, 80))
  t.not(flights.join('s', 'at1', () => manual()), slow, 'forgotten 20 ms after it succeeded')
})

t.test('a replaced flight settling leaves its successor registered', async (t) => {
  const flights = new SingleFlight<Manual>(30_000)
  const old = manual()
  const failingOld = manual()
  flights.join('s', 'at1', () => old)
  flights.join('f', 'at1', () => failingOld)
  const newer = manual()
  const newerF = manual()
  t.equal(flights.join('s', 'at2', () => newer), newer, 'another token: a new flight')
  t.equal(flights.join('f', 'at2', () => newerF), newerF)
  old.resolve('ok')
  failingOld.reject(new Error('no'))
  await tick()
  t.equal(flights.join('s', 'at2', () => manual()), newer, 'the successor stays')
  t.equal(flights.join('f', 'at2', () => manual()), newerF, 'also after a failure of the replaced one')
})
