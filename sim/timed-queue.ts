/**
 * Min-heap of values keyed by time, ties broken by insertion order, so the simulator's output is
 * deterministic for a seed. Serves both the scenario's pending emissions and the delivery model's
 * delayed records.
 */
export interface Timed<T> {
  at: number;
  seq: number;
  value: T;
}

export class TimedQueue<T> {
  private readonly a: Timed<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.a.length;
  }

  push(at: number, value: T): void {
    const a = this.a;
    a.push({ at, seq: this.seq++, value });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  peekAt(): number | undefined {
    return this.a[0]?.at;
  }

  pop(): Timed<T> | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  private less(x: Timed<T>, y: Timed<T>): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
}
