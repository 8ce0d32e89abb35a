/**
 * What the lab benchmarks share: a UDP load generator (a small C program using sendmmsg,
 * compiled here with gcc, paced to a packet rate), CPU seconds of a process from /proc,
 * and starting a capture tool and waiting for its "listening on" line.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const GENERATOR_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#define BATCH 64
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: udpgen DST PORT PPS(0=max) SECONDS PAYLOAD\n"); return 2; }
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) return 2;
  double pps = atof(argv[3]), secs = atof(argv[4]); int len = atoi(argv[5]);
  if (len < 8 || len > 1472 || secs <= 0 || secs > 600) return 2;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("socket"); return 1; }
  static char buf[BATCH][1500]; struct mmsghdr m[BATCH]; struct iovec iov[BATCH];
  memset(m, 0, sizeof m);
  for (int i = 0; i < BATCH; i++) { iov[i].iov_base = buf[i]; iov[i].iov_len = len; m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1; }
  unsigned long long sent = 0; double t0 = now(), end = t0 + secs;
  for (;;) {
    double t = now();
    if (t >= end) break;
    int n = BATCH;
    if (pps > 0) {
      double due = (t - t0) * pps - (double)sent;
      if (due < 1) { struct timespec ts = {0, 20000}; nanosleep(&ts, NULL); continue; }
      if (due < n) n = (int)due;
    }
    for (int i = 0; i < n; i++) { unsigned long long k = sent + i; memcpy(buf[i], &k, sizeof k); }
    int r = sendmmsg(s, m, n, 0);
    if (r > 0) sent += r;
  }
  printf("{\"sent\":%llu,\"seconds\":%.6f}\n", sent, now() - t0);
  return 0;
}
`;

/**
 * Compiles the generator into `dir`; returns its path, or undefined without gcc. Run it as
 * `udpgen DST PORT PPS(0=max) SECONDS PAYLOAD`; it prints {"sent":N,"seconds":S}.
 */
export function buildUdpGenerator(dir: string): string | undefined {
  const bin = join(dir, 'udpgen');
  writeFileSync(join(dir, 'udpgen.c'), GENERATOR_C);
  return spawnSync('gcc', ['-O2', '-o', bin, join(dir, 'udpgen.c')]).status === 0 ? bin : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** utime + stime of every thread of `pid`, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, utime 14, stime 15 (1-based) → indexes 11, 12.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export interface Capturer {
  proc: ChildProcess;
  stderr(): string;
  exited: Promise<void>;
}

export async function startCapturer(cmd: string, args: string[]): Promise<Capturer> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  let done = false;
  const exited = new Promise<void>((r) => proc.once('close', () => {
    done = true;
    r();
  }));
  const deadline = Date.now() + 15_000;
  while (!err.includes('listening on')) {
    if (done || Date.now() > deadline) throw new Error(`${cmd} did not start: ${err}`);
    await sleep(20);
  }
  return { proc, stderr: () => err, exited };
}

/** The first capture group of `re` in `text` as a number; NaN when absent. */
export function num(text: string, re: RegExp): number {
  const m = re.exec(text);
  return m === null ? NaN : Number(m[1]);
}
