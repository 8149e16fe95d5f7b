/**
 * Everything the bench creates registers how to remove it here. `run()` removes it all, newest
 * first, once — from the `finally` of a normal run and from the SIGINT/SIGTERM handler — and
 * reports (never throws) what it could not remove.
 */
export class Cleanup {
  private tasks: { what: string; fn: () => unknown }[] = [];
  private running: Promise<void> | undefined;

  add(what: string, fn: () => unknown): void {
    this.tasks.push({ what, fn });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.tasks.length > 0) {
        const task = this.tasks.pop()!;
        try {
          await task.fn();
        } catch (e) {
          console.error(`bench cleanup: could not remove ${task.what}: ${(e as Error).message}`);
        }
      }
    })();
    return this.running;
  }

  /** On Ctrl-C or SIGTERM: clean up, then exit 130/143. */
  onSignals(): void {
    const handler = (signal: NodeJS.Signals, code: number) => () => {
      console.error(`bench: ${signal}, cleaning up…`);
      void this.run().finally(() => process.exit(code));
    };
    process.once('SIGINT', handler('SIGINT', 130));
    process.once('SIGTERM', handler('SIGTERM', 143));
  }
}
