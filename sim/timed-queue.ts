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
    const item: Timed<T> = { at, seq: this.seq++, value };
    // Sift up by moving parents down into the hole: no temporary arrays on this hot path.
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p] as Timed<T>;
      if (!this.less(item, parent)) break;
      a[i] = parent;
      i = p;
    }
    a[i] = item;
  }

  peekAt(): number | undefined {
    return this.a[0]?.at;
  }

  pop(): Timed<T> | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length && last) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        if (r < n && this.less(a[r] as Timed<T>, a[l] as Timed<T>)) m = r;
        const child = a[m] as Timed<T>;
        if (!this.less(child, last)) break;
        a[i] = child;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }

  private less(x: Timed<T>, y: Timed<T>): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
}
