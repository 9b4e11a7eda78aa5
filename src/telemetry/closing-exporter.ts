import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";

/** What an export reported back, as `SpanExporter.export` passes it to its callback. */
type ExportResult = Parameters<Parameters<SpanExporter["export"]>[1]>[0];

/** `ExportResultCode.FAILED` of `@opentelemetry/core`, which is not loaded just for this. */
const FAILED = 1;

/**
 * An exporter that switches to a second, short-deadline exporter once the process is closing.
 *
 * The OTLP exporter retries a failed export with back-off until its own deadline
 * (`timeoutMs`, 10 s by default), on timers that keep the process alive. That is right while a
 * run goes on and wrong at exit: with no collector listening, `shutdown()` would hold the process
 * for the whole deadline. Spans exported after {@link close} go through `closing`, built with the
 * flush bound as its deadline, so its retries end when the bound does. It also counts the spans
 * that failed to export after `close`, so the handle can say so once.
 */
export class ClosingExporter implements SpanExporter {
  readonly #steady: SpanExporter;
  readonly #closing: SpanExporter;
  #closed = false;
  #dropped = 0;
  #lastError: string | undefined;

  constructor(steady: SpanExporter, closing: SpanExporter) {
    this.#steady = steady;
    this.#closing = closing;
  }

  /** From now on, exports use the short-deadline exporter. */
  close(): void {
    this.#closed = true;
  }

  /** Spans that failed to export after {@link close}, and the last error seen. */
  get dropped(): { readonly spans: number; readonly error: string | undefined } {
    return { spans: this.#dropped, error: this.#lastError };
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (!this.#closed) {
      this.#steady.export(spans, resultCallback);
      return;
    }
    this.#closing.export(spans, (result) => {
      if (result.code === FAILED) {
        this.#dropped += spans.length;
        if (result.error !== undefined) this.#lastError = result.error.message;
      }
      resultCallback(result);
    });
  }

  async forceFlush(): Promise<void> {
    await Promise.all([this.#steady.forceFlush?.(), this.#closing.forceFlush?.()]);
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.#steady.shutdown(), this.#closing.shutdown()]);
  }
}
