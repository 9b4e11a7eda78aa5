import {
  context,
  type DiagLogger,
  DiagLogLevel,
  diag,
  propagation,
  trace,
} from "@opentelemetry/api";
import type { InMemorySpanExporter, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { z } from "zod";
import { type CancelTimer, later } from "../clock.js";
import { InvalidOptionError, TelemetryConflictError } from "../errors.js";
import { importOptional, type OptionalDependency } from "../import-optional.js";
import { consoleLogger, type Logger } from "../logger.js";
import { ClosingExporter } from "./closing-exporter.js";
import { hasTracerProvider, TRELLIS_VERSION } from "./tracing.js";

/** Where spans go: an OTLP/HTTP collector (Jaeger, …), the console, or memory (tests). */
export type TelemetryExporterKind = "otlp" | "console" | "memory";

/** Options of {@link setupTelemetry}. */
export interface SetupTelemetryOptions {
  /** `otlp` sends batches over OTLP/HTTP (JSON); `console` prints each span; `memory` keeps them. */
  readonly exporter: TelemetryExporterKind;
  /**
   * OTLP only. The collector's base URL or full traces URL; `/v1/traces` is appended when the
   * path does not end with it. Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), else
   * `OTEL_EXPORTER_OTLP_ENDPOINT`, else `http://localhost:4318` (Jaeger's OTLP/HTTP port).
   */
  readonly endpoint?: string;
  /** `service.name` of every span. Default: `OTEL_SERVICE_NAME`, else `trellis`. */
  readonly serviceName?: string;
  /** `service.version` of every span. */
  readonly serviceVersion?: string;
  /** OTLP only. Headers sent with every export, e.g. an API key of a hosted backend. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Extra resource attributes, e.g. `{ "deployment.environment.name": "staging" }`. */
  readonly resourceAttributes?: Readonly<Record<string, string | number | boolean>>;
  /** OTLP only. Time limit of one export while the process runs, in ms. Default 10,000. */
  readonly timeoutMs?: number;
  /**
   * Longest wait of `flush()` and `shutdown()`, in ms. Default 2,000. When it passes (a collector
   * that does not answer), the call returns, one warning says what was dropped, and the spans
   * exported at shutdown stop retrying then too, so the process can exit.
   */
  readonly flushTimeoutMs?: number;
  /** Where failed exports and replaced setups are reported. Default: `consoleLogger`. */
  readonly logger?: Logger;
  /**
   * Forward OpenTelemetry's own warnings and errors (a collector that cannot be reached, …) to
   * `logger`. Default `true`. This sets the global `diag` logger until `shutdown()`.
   */
  readonly diagnostics?: boolean;
}

/** What {@link setupTelemetry} installed, and how to flush and remove it. */
export interface TelemetryHandle {
  /** The registered provider. */
  readonly provider: NodeTracerProvider;
  /**
   * The exporter spans go to. With OTLP, one that hands spans to an OTLP exporter with
   * `timeoutMs` while the process runs and, from `shutdown()` on, to one with `flushTimeoutMs`.
   */
  readonly exporter: SpanExporter;
  /** With `exporter: "memory"`: the exporter to read finished spans from (before `shutdown()`). */
  readonly memory?: InMemorySpanExporter;
  /** With `exporter: "otlp"`: the URL spans are posted to. */
  readonly url?: string;
  /** Exports every finished span now. Failures are logged, never thrown. */
  flush(): Promise<void>;
  /**
   * Flushes, shuts the provider down and unregisters it (global tracer provider, context manager,
   * propagator, diag logger), so `setupTelemetry()` can be called again. Idempotent; failures are
   * logged, never thrown. The memory exporter forgets its spans on shutdown.
   */
  shutdown(): Promise<void>;
}

/** The OpenTelemetry SDK packages, optional peers of Trellis, that `setupTelemetry()` loads. */
const SDK_PACKAGES = [
  "@opentelemetry/sdk-trace-node",
  "@opentelemetry/sdk-trace-base",
  "@opentelemetry/resources",
  "@opentelemetry/exporter-trace-otlp-http",
] as const;

function sdk(dependency: (typeof SDK_PACKAGES)[number]): OptionalDependency {
  return { feature: "setupTelemetry()", dependency, install: SDK_PACKAGES };
}

const DEFAULT_ENDPOINT = "http://localhost:4318";
/** Default of `flushTimeoutMs`: how long `flush()` and `shutdown()` wait at most. */
const DEFAULT_FLUSH_TIMEOUT_MS = 2000;
const TRACES_PATH = "/v1/traces";

const httpUrl = z.string().refine((value) => {
  try {
    const { protocol } = new URL(value);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
});

const OptionsSchema = z.strictObject({
  exporter: z.enum(["otlp", "console", "memory"]),
  endpoint: httpUrl.optional(),
  serviceName: z.string().min(1).optional(),
  serviceVersion: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  resourceAttributes: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional(),
  timeoutMs: z.number().int().positive().optional(),
  flushTimeoutMs: z.number().int().positive().max(600_000).optional(),
  logger: z.custom<Logger>(isLogger).optional(),
  diagnostics: z.boolean().optional(),
});

const EXPECTED: Readonly<Record<string, string>> = {
  exporter: '"otlp", "console" or "memory"',
  endpoint: 'an http(s) URL such as "http://localhost:4318"',
  serviceName: "a non-empty string",
  serviceVersion: "a non-empty string",
  headers: "an object of string header values",
  resourceAttributes: "an object of string, number or boolean values",
  timeoutMs: "a whole number of milliseconds from 1 and up",
  flushTimeoutMs: "a whole number of milliseconds from 1 to 600000",
  logger: "a Logger with debug, info, warn and error methods",
  diagnostics: "a boolean",
};

/** The setup whose provider is the global one, if any. */
let active: ActiveTelemetry | undefined;
/** Serialises calls so two concurrent setups cannot both register. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Installs the OpenTelemetry SDK so Trellis spans (and any other `@opentelemetry/api` spans in
 * the process) are exported: a `NodeTracerProvider` registered globally, with a batching OTLP/HTTP
 * exporter, or a simple console or in-memory exporter. Skip it if your application already sets up
 * OpenTelemetry — Trellis only uses the API and its spans go to your provider.
 *
 * Calling it again replaces the previous setup: the previous provider is flushed and shut down
 * first, and a warning is logged. If a provider that `setupTelemetry()` did not install is already
 * registered, it throws `TelemetryConflictError` rather than being ignored silently.
 *
 * @throws InvalidOptionError when an option is missing, of the wrong type, or unknown.
 * @throws TelemetryConflictError when another global tracer provider is registered.
 * @throws MissingDependencyError when the OpenTelemetry SDK packages (optional peers of Trellis)
 * are not installed.
 *
 * @example
 * ```ts
 * const telemetry = await setupTelemetry({ exporter: "otlp" }); // Jaeger on localhost:4318
 * await agent.run(input);
 * await telemetry.shutdown(); // flush before the process exits
 * ```
 */
export async function setupTelemetry(options: SetupTelemetryOptions): Promise<TelemetryHandle> {
  const parsed = validate(options);
  const next = queue.then(() => install(parsed));
  queue = next.catch(() => undefined);
  return next;
}

type ParsedOptions = z.infer<typeof OptionsSchema>;

function validate(options: SetupTelemetryOptions): ParsedOptions {
  if (options === null || typeof options !== "object") {
    throw new InvalidOptionError(
      "options",
      'an object such as `{ exporter: "otlp" }`',
      options as unknown,
    );
  }
  const result = OptionsSchema.safeParse(options);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0] ?? "";
      throw new InvalidOptionError(
        key,
        `left out: it is not an option of setupTelemetry() (known options: ${Object.keys(EXPECTED).join(", ")})`,
        (options as unknown as Record<string, unknown>)[key],
      );
    }
    const key = String(issue.path[0] ?? "options");
    throw new InvalidOptionError(
      key,
      EXPECTED[key] ?? "valid",
      (options as unknown as Record<string, unknown>)[key],
    );
  }
  const parsed = result.data;
  if (parsed.exporter !== "otlp") {
    for (const key of ["endpoint", "headers", "timeoutMs"] as const) {
      if (parsed[key] !== undefined) {
        throw new InvalidOptionError(
          key,
          `left out with exporter "${parsed.exporter}" (it only applies to "otlp")`,
          parsed[key],
        );
      }
    }
  }
  return parsed;
}

async function install(options: ParsedOptions): Promise<TelemetryHandle> {
  const logger = options.logger ?? consoleLogger;
  if (active !== undefined) {
    logger.warn(
      "setupTelemetry() was called again: the previous tracer provider was flushed, shut down and replaced.",
    );
    await active.shutdown();
  }
  if (foreignProviderRegistered()) throw new TelemetryConflictError();

  const [{ NodeTracerProvider }, base, { defaultResource, resourceFromAttributes }] =
    await Promise.all([
      importOptional(
        sdk("@opentelemetry/sdk-trace-node"),
        () => import("@opentelemetry/sdk-trace-node"),
      ),
      importOptional(
        sdk("@opentelemetry/sdk-trace-base"),
        () => import("@opentelemetry/sdk-trace-base"),
      ),
      importOptional(sdk("@opentelemetry/resources"), () => import("@opentelemetry/resources")),
    ]);

  const resource = defaultResource().merge(
    resourceFromAttributes({
      ...options.resourceAttributes,
      "service.name": options.serviceName ?? nonEmpty(process.env.OTEL_SERVICE_NAME) ?? "trellis",
      ...(options.serviceVersion === undefined
        ? {}
        : { "service.version": options.serviceVersion }),
      "telemetry.distro.name": "trellis",
      "telemetry.distro.version": TRELLIS_VERSION,
    }),
  );

  let exporter: SpanExporter;
  let closing: ClosingExporter | undefined;
  const flushTimeoutMs = options.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
  let memory: InMemorySpanExporter | undefined;
  let url: string | undefined;
  let processor: InstanceType<typeof base.SimpleSpanProcessor | typeof base.BatchSpanProcessor>;
  if (options.exporter === "otlp") {
    const { OTLPTraceExporter } = await importOptional(
      sdk("@opentelemetry/exporter-trace-otlp-http"),
      () => import("@opentelemetry/exporter-trace-otlp-http"),
    );
    const tracesUrl = resolveTracesUrl(options.endpoint);
    url = tracesUrl;
    const otlp = (timeoutMillis: number) =>
      new OTLPTraceExporter({
        url: tracesUrl,
        ...(options.headers === undefined ? {} : { headers: { ...options.headers } }),
        timeoutMillis,
      });
    closing = new ClosingExporter(otlp(options.timeoutMs ?? 10_000), otlp(flushTimeoutMs));
    exporter = closing;
    processor = new base.BatchSpanProcessor(exporter);
  } else if (options.exporter === "console") {
    exporter = new base.ConsoleSpanExporter();
    processor = new base.SimpleSpanProcessor(exporter);
  } else {
    memory = new base.InMemorySpanExporter();
    exporter = memory;
    processor = new base.SimpleSpanProcessor(exporter);
  }

  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  const diagnostics = options.diagnostics !== false;
  if (diagnostics) {
    diag.setLogger(diagAdapter(logger), {
      logLevel: DiagLogLevel.WARN,
      suppressOverrideMessage: true,
    });
  }
  provider.register();
  const handle = new ActiveTelemetry(provider, exporter, memory, url, {
    logger,
    diagnostics,
    flushTimeoutMs,
    closing,
  });
  active = handle;
  return handle;
}

class ActiveTelemetry implements TelemetryHandle {
  readonly provider: NodeTracerProvider;
  readonly exporter: SpanExporter;
  readonly memory?: InMemorySpanExporter;
  readonly url?: string;
  readonly #logger: Logger;
  readonly #diagnostics: boolean;
  readonly #flushTimeoutMs: number;
  readonly #closing: ClosingExporter | undefined;
  #shutdown: Promise<void> | undefined;

  constructor(
    provider: NodeTracerProvider,
    exporter: SpanExporter,
    memory: InMemorySpanExporter | undefined,
    url: string | undefined,
    settings: {
      readonly logger: Logger;
      readonly diagnostics: boolean;
      readonly flushTimeoutMs: number;
      readonly closing: ClosingExporter | undefined;
    },
  ) {
    this.provider = provider;
    this.exporter = exporter;
    if (memory !== undefined) this.memory = memory;
    if (url !== undefined) this.url = url;
    this.#logger = settings.logger;
    this.#diagnostics = settings.diagnostics;
    this.#flushTimeoutMs = settings.flushTimeoutMs;
    this.#closing = settings.closing;
  }

  async flush(): Promise<void> {
    const outcome = await within(this.provider.forceFlush(), this.#flushTimeoutMs);
    if (outcome.kind === "done") return;
    this.#logger.warn(
      outcome.kind === "timeout"
        ? `Flushing spans took longer than ${this.#flushTimeoutMs} ms${this.#where()}; flush() returned without waiting for the export.`
        : `Flushing spans failed${this.#where()}.`,
      outcome.kind === "failed" ? { error: describe(outcome.error) } : undefined,
    );
  }

  #where(): string {
    return this.url === undefined ? "" : ` (${this.url})`;
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= this.#close();
    return this.#shutdown;
  }

  async #close(): Promise<void> {
    this.#closing?.close();
    const outcome = await within(this.provider.shutdown(), this.#flushTimeoutMs);
    const dropped = this.#closing?.dropped;
    if (outcome.kind !== "done" || (dropped !== undefined && dropped.spans > 0)) {
      // One line, whatever went wrong: the spans that did not reach the collector are gone.
      const error =
        outcome.kind === "failed" ? describe(outcome.error) : (dropped?.error ?? undefined);
      const what =
        dropped !== undefined && dropped.spans > 0 ? `${dropped.spans} span(s)` : "spans";
      const why =
        outcome.kind === "timeout"
          ? `no answer within ${this.#flushTimeoutMs} ms (flushTimeoutMs)`
          : "the export failed";
      this.#logger.warn(
        `Telemetry shut down without exporting ${what}${this.#where()}: ${why}. Is the collector running?`,
        error === undefined ? undefined : { error },
      );
    }
    if (active !== this) return;
    active = undefined;
    trace.disable();
    context.disable();
    propagation.disable();
    if (this.#diagnostics) diag.disable();
  }
}

/**
 * The URL spans are posted to: `endpoint` (or the OTLP environment variables, or the default)
 * with `/v1/traces` appended when its path does not already end with it.
 */
export function resolveTracesUrl(endpoint?: string): string {
  if (endpoint === undefined) {
    const tracesEndpoint = nonEmpty(process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
    if (tracesEndpoint !== undefined) return tracesEndpoint;
  }
  const base = endpoint ?? nonEmpty(process.env.OTEL_EXPORTER_OTLP_ENDPOINT) ?? DEFAULT_ENDPOINT;
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, "");
  if (!path.endsWith(TRACES_PATH)) url.pathname = `${path}${TRACES_PATH}`;
  return url.toString();
}

function foreignProviderRegistered(): boolean {
  return hasTracerProvider(trace.getTracerProvider());
}

/** Most distinct OpenTelemetry messages remembered, so each is logged once. */
const MAX_DIAG_SEEN = 100;

/**
 * OpenTelemetry's own diagnostics, forwarded to `logger`. Each distinct message is written once:
 * a collector that stays down fails every batch the same way, and one line says so.
 */
function diagAdapter(logger: Logger): DiagLogger {
  const seen = new Set<string>();
  const write =
    (level: "debug" | "info" | "warn" | "error") =>
    (message: string, ...args: unknown[]) => {
      const key = `${level} ${message} ${args.map(describe).join(" ")}`;
      if (seen.has(key)) return;
      if (seen.size < MAX_DIAG_SEEN) seen.add(key);
      try {
        logger[level](
          `OpenTelemetry: ${message}`,
          args.length === 0 ? undefined : { details: args.map(describe) },
        );
      } catch {
        // A logger that throws must not break the exporter.
      }
    };
  return {
    error: write("error"),
    warn: write("warn"),
    info: write("info"),
    debug: write("debug"),
    verbose: write("debug"),
  };
}

type Within = { kind: "done" } | { kind: "timeout" } | { kind: "failed"; error: unknown };

/** Waits for `work` at most `ms`; the timer does not keep the process alive. */
async function within(work: Promise<unknown>, ms: number): Promise<Within> {
  let cancel: CancelTimer | undefined;
  const timeout = new Promise<Within>((resolve) => {
    cancel = later(ms, () => resolve({ kind: "timeout" }));
  });
  try {
    return await Promise.race([
      work.then(
        (): Within => ({ kind: "done" }),
        (error: unknown): Within => ({ kind: "failed", error }),
      ),
      timeout,
    ]);
  } finally {
    cancel?.();
  }
}

function isLogger(value: unknown): value is Logger {
  if (value === null || typeof value !== "object") return false;
  const candidate = value as Record<string, unknown>;
  return ["debug", "info", "warn", "error"].every((m) => typeof candidate[m] === "function");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
