/**
 * A throwaway PostgreSQL cluster of one test file, to crash the database server itself: the
 * shared server of the other PostgreSQL tests must never go down. `start()` creates a cluster in
 * a temporary directory and runs it; `crash()` kills the postmaster and every one of its
 * processes with SIGKILL, as a power loss or `kill -9` would (only what PostgreSQL had handed to
 * the kernel survives, here its written WAL); `restart()` starts the server again on the same
 * data directory, so crash recovery runs; `stop()` kills it and removes the directory.
 *
 * The binaries come from `TRELLIS_TEST_PG_BIN` (default `/usr/lib/postgresql/15/bin`).
 * PostgreSQL refuses to run as root, so as root the cluster runs as the OS user `postgres`;
 * as any other user it runs as that user. {@link privateClusterUnavailable} says why a cluster
 * cannot be made here, for the tests to skip with that reason.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const BIN = process.env.TRELLIS_TEST_PG_BIN ?? "/usr/lib/postgresql/15/bin";
const run = promisify(execFile);

/**
 * Settings that make a crash lose what it would lose on a real server, and nothing else. With
 * asynchronous commits the WAL writer writes WAL once a page of it is full, or every
 * `wal_writer_delay`: at the longest delay (10 s) the last, partly filled page of a short run
 * stays in shared memory and dies with the server. No autovacuum, background writer or timed
 * checkpoint writes (and so flushes WAL) behind the test's back. Before recovering, the server
 * syncs its data directory with one `syncfs` rather than one fsync per file (a second saved
 * per restart: initdb ran with `--no-sync`).
 */
const SETTINGS = [
  "listen_addresses=127.0.0.1",
  "fsync=on",
  "synchronous_commit=on",
  "wal_writer_delay=10000ms",
  "autovacuum=off",
  "bgwriter_lru_maxpages=0",
  "checkpoint_timeout=1h",
  "max_wal_size=1GB",
  "shared_buffers=16MB",
  "max_connections=30",
  "log_min_messages=warning",
  "recovery_init_sync_method=syncfs",
];

interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** Who runs the server: `postgres` when this process is root, else this process's user. */
async function owner(): Promise<Owner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([
    run("id", ["-u", "postgres"]),
    run("id", ["-g", "postgres"]),
  ]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Why no private cluster can run here, or `undefined` when one can. */
export async function privateClusterUnavailable(): Promise<string | undefined> {
  if (process.platform !== "linux") return `needs Linux (its /proc), not ${process.platform}`;
  for (const tool of ["initdb", "postgres"]) {
    if (!existsSync(join(BIN, tool))) {
      return `no ${join(BIN, tool)}: install PostgreSQL or set TRELLIS_TEST_PG_BIN`;
    }
  }
  try {
    await owner();
  } catch {
    return "running as root, and there is no OS user `postgres` to run the server as";
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

/** The state letter and parent of a live process (`undefined` once it is gone). */
function processStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: state ?? "", ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** A process that runs, as opposed to one that is gone or only a zombie left to be reaped. */
function alive(pid: number): boolean {
  const stat = processStat(pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}

/**
 * The postmaster's children. Each one calls `setsid()` as it starts, so the postmaster's process
 * group holds the postmaster alone and killing the group would leave the backends running (and
 * writing WAL) until they notice its death.
 */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const child = Number(entry);
    if (Number.isInteger(child) && processStat(child)?.ppid === pid) children.push(child);
  }
  return children;
}

function signal(pid: number, name: NodeJS.Signals): void {
  // 0 and below would signal a whole process group, this one's included.
  if (pid <= 0) return;
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

async function until(what: string, test: () => boolean | Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One private cluster; see the file's comment. */
export class PrivateCluster {
  // Made by `start()`, not by the constructor: a skipped suite still builds its cluster object.
  #dir = "";
  #data = "";
  #sockets = "";
  #owner: Owner | undefined;
  #port = 0;
  #server: ChildProcess | undefined;
  #log = "";

  /** A connection URL to the cluster's `postgres` database. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.#port}/postgres`;
  }

  /** What the server wrote to its output, for a failure's message. */
  get log(): string {
    return this.#log;
  }

  /** Creates the cluster and starts it. */
  async start(): Promise<void> {
    this.#dir = mkdtempSync(join(tmpdir(), "trellis-pg-"));
    this.#data = join(this.#dir, "data");
    this.#sockets = join(this.#dir, "sockets");
    this.#owner = await owner();
    if (this.#owner !== undefined) chownSync(this.#dir, this.#owner.uid, this.#owner.gid);
    await run(
      join(BIN, "initdb"),
      ["-D", this.#data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"],
      { cwd: this.#dir, ...this.#owner },
    );
    mkdirSync(this.#sockets);
    if (this.#owner !== undefined) chownSync(this.#sockets, this.#owner.uid, this.#owner.gid);
    this.#port = await freePort();
    await this.#launch();
  }

  /** Starts the server again on the same data directory: it recovers from its WAL first. */
  async restart(): Promise<void> {
    await this.#launch();
  }

  /**
   * Kills the server as a power loss would: every process stops at once (SIGSTOP, so none
   * writes after another died), then all die (SIGKILL). Resolves once none is left.
   */
  async crash(): Promise<void> {
    const server = this.#server;
    const pid = server?.pid;
    if (server === undefined || pid === undefined) return;
    this.#server = undefined;
    const exited = new Promise<void>((resolve) => {
      if (server.exitCode !== null || server.signalCode !== null) resolve();
      else server.once("exit", () => resolve());
    });
    // Stopped, the postmaster forks no new child between the look at its children and the kill.
    signal(pid, "SIGSTOP");
    const children = childrenOf(pid);
    for (const child of children) signal(child, "SIGSTOP");
    for (const child of children) signal(child, "SIGKILL");
    signal(pid, "SIGKILL");
    await exited;
    await until("the server's processes to be gone", () => !children.some(alive), 10_000);
  }

  /** Kills the server and removes the cluster. */
  async stop(): Promise<void> {
    await this.crash();
    if (this.#dir !== "") rmSync(this.#dir, { recursive: true, force: true });
  }

  async #launch(): Promise<void> {
    const args = ["-D", this.#data, "-p", String(this.#port), "-k", this.#sockets];
    for (const setting of SETTINGS) args.push("-c", setting);
    const server = spawn(join(BIN, "postgres"), args, {
      cwd: this.#dir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      ...this.#owner,
    });
    this.#server = server;
    const keep = (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-20_000);
    };
    server.stdout?.on("data", keep);
    server.stderr?.on("data", keep);
    let ended: string | undefined;
    server.once("exit", (code, name) => {
      ended = `the server exited (${name ?? code}) while starting:\n${this.#log}`;
    });
    await until(
      "the server to accept connections",
      async () => {
        if (ended !== undefined) throw new Error(ended);
        const client = new pg.Client({ connectionString: this.url });
        try {
          await client.connect();
          await client.query("SELECT 1");
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => {});
        }
      },
      30_000,
    );
  }
}
