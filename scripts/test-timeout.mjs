// Preloaded into every test file by run-tests.mjs (node --import).
//
// 1. Each test and hook that sets no timeout of its own, and is not inside a
//    describe() that sets one, gets the default per-test timeout, so that a
//    hang fails that test within minutes. (Node 20's --test-timeout bounds
//    each file as a whole, not each test.) A test that legitimately takes
//    longer says so with `test(name, { timeout }, fn)` or on its describe().
// 2. A file whose process is still running a while after its tests ended
//    (an open server, socket or child process) fails then, not at the file's
//    timeout.
//
// node:test takes a test's reported location from its caller; the wrappers
// here are that caller, so they put the location of their own caller back.
//
// AUTHRELAY_TEST_TIMEOUT_MS and AUTHRELAY_TEST_EXIT_GRACE_MS change the defaults.
import { createHook } from 'node:async_hooks';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';

export const DEFAULT_TEST_TIMEOUT_MS = Number(process.env.AUTHRELAY_TEST_TIMEOUT_MS) || 180_000;
export const EXIT_GRACE_MS = Number(process.env.AUTHRELAY_TEST_EXIT_GRACE_MS) || 60_000;

const nt = createRequire(import.meta.url)('node:test');
const self = fileURLToPath(import.meta.url);
/** describe() callbacks with their own timeout running now (their tests and hooks inherit it). */
let timedSuites = 0;

const isOptions = (x) => x !== null && typeof x === 'object';
const withDefault = (o) => (o.timeout !== undefined || timedSuites > 0 ? o : { ...o, timeout: DEFAULT_TEST_TIMEOUT_MS });

// The test object a call creates: the first 'Test' async resource made during it.
let made;
let depth = 0;
const tracker = createHook({
  init(_id, type, _trigger, resource) {
    if (type === 'Test' && made === null) made = resource;
  },
});

/** Where `fn` was called from, as node:test records a location. */
function callerOf(fn) {
  const prepare = Error.prepareStackTrace;
  Error.prepareStackTrace = (_e, frames) => frames;
  const holder = {};
  Error.captureStackTrace(holder, fn);
  const frame = holder.stack?.[0];
  Error.prepareStackTrace = prepare;
  const file = frame?.getFileName();
  if (!file) return undefined;
  return { __proto__: null, line: frame.getLineNumber(), column: frame.getColumnNumber(), file: file.startsWith('file://') ? fileURLToPath(file) : file };
}

/** Calls the original, then gives the test it made the location of the wrapper's caller. */
function located(wrapper, call) {
  const loc = callerOf(wrapper);
  const outer = made;
  made = null;
  if (depth++ === 0) tracker.enable();
  try {
    return call();
  } finally {
    if (--depth === 0) tracker.disable();
    if (made && loc && made.loc?.file === self) made.loc = loc;
    made = outer;
  }
}

/** test(name?, options?, fn?) as node:test reads it, with the default timeout added to the options. */
function testWithDefault(original) {
  const wrapped = function (name, options, fn) {
    return located(wrapped, () => {
      if (typeof name === 'function') return original.call(this, withDefault({}), name);
      if (isOptions(name)) return original.call(this, withDefault(name), options);
      if (typeof options === 'function') return original.call(this, name, withDefault({}), options);
      return original.call(this, name, withDefault(isOptions(options) ? options : {}), fn);
    });
  };
  return Object.assign(wrapped, original);
}

/** describe(name?, options?, fn?): a suite with its own timeout lets its tests and hooks inherit it. */
function suiteMarkingTimeout(original) {
  const wrapped = function (name, options, fn) {
    return located(wrapped, () => {
      let [n, o, f] = [name, options, fn];
      if (typeof name === 'function') [n, o, f] = [undefined, {}, name];
      else if (isOptions(name)) [n, o, f] = [undefined, name, options];
      else if (typeof options === 'function') [n, o, f] = [name, {}, options];
      if (!isOptions(o) || o.timeout === undefined || typeof f !== 'function') return original.call(this, name, options, fn);
      const marked = function (...a) {
        timedSuites++;
        try {
          return f.apply(this, a);
        } finally {
          timedSuites--;
        }
      };
      Object.defineProperty(marked, 'name', { value: f.name });
      return n === undefined ? original.call(this, o, marked) : original.call(this, n, o, marked);
    });
  };
  return Object.assign(wrapped, original);
}

/** before(fn, options?) and the other hooks. */
function hookWithDefault(original) {
  const wrapped = function (fn, options) {
    return located(wrapped, () => original.call(this, fn, withDefault(isOptions(options) ? options : {})));
  };
  return wrapped;
}

for (const name of ['test', 'it']) if (nt[name]) nt[name] = testWithDefault(nt[name]);
for (const name of ['describe', 'suite']) if (nt[name]) nt[name] = suiteMarkingTimeout(nt[name]);
for (const name of ['before', 'after', 'beforeEach', 'afterEach']) if (nt[name]) nt[name] = hookWithDefault(nt[name]);
syncBuiltinESMExports();

// The timer does not itself keep the process alive: it only fires when something else does.
nt.after(() => {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    process.stderr.write(`still running ${EXIT_GRACE_MS / 1000} s after its tests ended; open: ${open.join(', ') || 'timers'}\n`);
    process.exit(1);
  }, EXIT_GRACE_MS).unref();
});
