import cliProgress from 'cli-progress';

/**
 * The progress bar `ccs-load` shows on stderr while it runs: one bar per step (connect, send,
 * drain…) with its count. Without a terminal (CI, a pipe) it prints one line per step instead.
 */
export class LoadProgress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private running = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.bar = stream.isTTY
      ? new cliProgress.SingleBar(
          {
            stream,
            format: '{step} |{bar}| {value}/{total}',
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  }

  /** Starts a step counting to `total` (0: unknown, the bar shows the count only). */
  step(name: string, total: number): void {
    if (!this.bar) {
      this.stream.write(`ccs-load: ${name}\n`);
      return;
    }
    if (this.running) this.bar.stop();
    this.bar.start(total, 0, { step: name.padEnd(28) });
    this.running = true;
  }

  update(value: number): void {
    if (!this.bar || !this.running) return;
    if (value > this.bar.getTotal()) this.bar.setTotal(value);
    this.bar.update(value);
  }

  /** A line above the bar (a scenario starts, a note). */
  log(line: string): void {
    if (this.bar && this.running) {
      this.bar.stop();
      this.running = false;
    }
    this.stream.write(`${line}\n`);
  }

  stop(): void {
    if (this.bar && this.running) this.bar.stop();
    this.running = false;
  }
}
