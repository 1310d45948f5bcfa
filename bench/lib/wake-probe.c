// The machine's own wake-up latency floor, for the tuner benchmark (bench/lib/wake-probe.ts): one
// thread per CPU, pinned, SCHED_FIFO at the given priority (one above the press threads, so they
// never delay it), sleeping to an absolute CLOCK_MONOTONIC time every period. A wake-up later than
// the threshold is a stall that no thread at or below that priority escapes (interrupts, a
// hypervisor taking the virtual CPU away): it is printed when the probe stops, so a late press
// can be matched against it. As cyclictest, but with the time of every stall.
// Usage: wake-probe PRIORITY PERIOD_US THRESHOLD_US; stops at end of stdin or SIGTERM, then prints
//   "S <cpu> <due ms> <late ms>" per stall and "M <cpu> <cycles> <max late ms> <sched>" per CPU.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_STALLS 65536

struct probe {
  int cpu;
  pthread_t thread;
  long cycles;
  double max_late;
  int stalls;
  double due[MAX_STALLS];
  double late[MAX_STALLS];
  char sched[16];
};

static volatile sig_atomic_t stopping = 0;
static int priority, period_us, threshold_us;

static double ms_of(const struct timespec *t) { return t->tv_sec * 1e3 + t->tv_nsec / 1e6; }

static void *run(void *arg) {
  struct probe *p = arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(p->cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  struct sched_param sp = { .sched_priority = priority };
  snprintf(p->sched, sizeof p->sched, pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0 ? "fifo:%d" : "normal", priority);
  struct timespec next, now;
  clock_gettime(CLOCK_MONOTONIC, &next);
  while (!stopping) {
    next.tv_nsec += period_us * 1000L;
    while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
    double late = ms_of(&now) - ms_of(&next);
    p->cycles++;
    if (late > p->max_late) p->max_late = late;
    if (late * 1000 > threshold_us && p->stalls < MAX_STALLS) {
      p->due[p->stalls] = ms_of(&next);
      p->late[p->stalls] = late;
      p->stalls++;
    }
    if (late > period_us / 1000.0) next = now; // skip the missed periods
  }
  return NULL;
}

static void on_signal(int sig) { (void)sig; stopping = 1; }

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: wake-probe PRIORITY PERIOD_US THRESHOLD_US\n"); return 2; }
  priority = atoi(argv[1]);
  period_us = atoi(argv[2]);
  threshold_us = atoi(argv[3]);
  mlockall(MCL_CURRENT | MCL_FUTURE);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; // no SA_RESTART: the read below returns
  sigaction(SIGTERM, &sa, NULL);
  int n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  struct probe *probes = calloc(n, sizeof *probes);
  if (!probes) return 1;
  for (int i = 0; i < n; i++) { probes[i].cpu = i; pthread_create(&probes[i].thread, NULL, run, &probes[i]); }
  printf("ready\n");
  fflush(stdout);
  char buf[64];
  while (!stopping && read(0, buf, sizeof buf) > 0) { /* until end of input */ }
  stopping = 1;
  for (int i = 0; i < n; i++) pthread_join(probes[i].thread, NULL);
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < probes[i].stalls; k++) printf("S %d %.3f %.3f\n", i, probes[i].due[k], probes[i].late[k]);
    printf("M %d %ld %.3f %s\n", i, probes[i].cycles, probes[i].max_late, probes[i].sched);
  }
  return 0;
}
