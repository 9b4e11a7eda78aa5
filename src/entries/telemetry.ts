/**
 * `trellis/telemetry`: `setupTelemetry()` installs the OpenTelemetry SDK so that Trellis spans
 * are exported (OTLP/HTTP to Jaeger, the console, or memory). The SDK packages are optional peers
 * of Trellis, loaded when it is called: `npm install @opentelemetry/sdk-trace-node
 * @opentelemetry/sdk-trace-base @opentelemetry/resources @opentelemetry/exporter-trace-otlp-http`.
 * The spans themselves come from the main entry, through `@opentelemetry/api` alone.
 *
 * @module trellis/telemetry
 */

export {
  type SetupTelemetryOptions,
  setupTelemetry,
  type TelemetryExporterKind,
  type TelemetryHandle,
} from "../telemetry/setup-telemetry.js";
