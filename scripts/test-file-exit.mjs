// Loaded into every test file's process by scripts/run-tests.mjs (`--import`). Once a file's tests and hooks
// are done, anything still open (a poll timer, a socket a timed-out test waited on) would keep the process
// alive and the run would hang with no name on it. Node's --test-force-exit ends the process at once, but on
// Node 20 that cuts off the file's report while it is still being written to the runner (tests went missing
// from the totals). This waits instead: a file that closes everything exits by itself, whole report sent;
// one that does not is ended after a grace period, naming what it left open. The grace is counted from the
// file's last hook, when its report may still be on the way (a second or two for a big file on a loaded
// machine), hence 20 s.
import { after } from 'node:test';

const graceMs = Number(process.env.TEST_EXIT_GRACE_MS ?? 20_000);

after(() => {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    process.stderr.write(
      `test file still had open handles ${graceMs} ms after its tests ended (${open.join(', ') || 'none listed'}); ending it\n`,
    );
    process.exit();
  }, graceMs).unref();
});
