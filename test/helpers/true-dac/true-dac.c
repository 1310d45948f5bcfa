// true-dac: an ALSA playback PCM (external I/O plugin) that stands in for a hardware DAC in TRUE
// time, for the rooms bench and its tests (true-dac.ts builds it, writes its ALSA config and reads
// what it recorded). It knows nothing of hearth.
//
// Rules:
// - It runs inside processes whose clocks libfaketime shifts (offset and rate, monotonic too), so
//   it never reads or sleeps on a clock through libc: CLOCK_MONOTONIC is read and slept on by raw
//   system calls (inline `syscall`/`svc`, which no LD_PRELOAD library can intercept). CLOCK_MONOTONIC
//   is shared by every process of the machine: true time.
// - Like a DAC's crystal, it consumes frames at exactly rate × (1 + ppm·1e-6) per true second from
//   the moment the stream starts; the hardware pointer (and so snd_pcm_delay) is exact to the frame
//   at the instant it is read. When the pointer reaches the application pointer the stream is in
//   underrun: the pointer reports -EPIPE (ALSA puts the PCM in XRUN), as a hardware driver does.
// - A pacing thread wakes the application (an eventfd) when avail ≥ avail_min, as a period
//   interrupt would.
// - It records what it played: each opening appends to its own pair of files, <file>-<pid>-<n>.raw
//   (every frame handed to it, interleaved s16le) and <file>-<pid>-<n>.idx (text lines):
//     rate R channels C ppm P            at hw_params
//     start T0 FIRST                      a run began: frame FIRST of .raw played at T0 ns (true CLOCK_MONOTONIC)
//     pos N                               about every 50 ms while running: N frames of this run played so far
//     end N                               the run ended (underrun, drop, drain, close) after N frames
//   A process killed mid-run leaves no `end`: the reader trusts the last `pos`.
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long raw_syscall4(long nr, long a, long b, long c, long d) {
#if defined(__x86_64__)
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
#else
  long r = syscall(nr, a, b, c, d);
  return r < 0 ? -errno : r;
#endif
}

/** True CLOCK_MONOTONIC, ns. */
static int64_t true_ns(void) {
  struct timespec ts;
  raw_syscall4(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t ns) {
  struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
  while (raw_syscall4(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, (long)&ts, 0) == -EINTR) {
  }
}

typedef struct {
  snd_pcm_ioplug_t io;
  char *prefix;
  double ppm;
  int raw_fd, idx_fd, event_fd;
  pthread_t thread;
  int thread_up, quit;
  pthread_mutex_t lock;
  /* The current run (guarded by lock). running: 0 prepared or stopped, 1 playing, 2 underrun. */
  int running;
  int64_t t0;                  /* true ns of the run's first frame */
  uint64_t written;            /* frames handed over in this run */
  uint64_t file_frames;        /* frames in .raw so far */
  uint64_t last_pos;           /* last `pos` written */
  int64_t last_pos_at;
  snd_pcm_uframes_t boundary;
  snd_pcm_uframes_t avail_min;
  int signalled;
} truedac_t;

static double eff_rate(truedac_t *d) { return d->io.rate * (1.0 + d->ppm * 1e-6); }

/** Frames consumed since the run's start at true time `now` (not clamped). */
static uint64_t consumed_at(truedac_t *d, int64_t now) {
  if (now <= d->t0) return 0;
  return (uint64_t)((double)(now - d->t0) * eff_rate(d) / 1e9);
}

static void idx_line(truedac_t *d, const char *fmt, ...) {
  char buf[160];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0 && write(d->idx_fd, buf, (size_t)n) < 0) {
  }
}

/* Ends the current run having played `played` frames (lock held). */
static void end_run(truedac_t *d, uint64_t played) {
  if (d->running != 1) return;
  d->running = 0;
  idx_line(d, "end %llu\n", (unsigned long long)played);
}

static void *pacer(void *arg) {
  truedac_t *d = arg;
  for (;;) {
    int64_t now = true_ns(), next = now + 2000000; /* at most 2 ms between looks */
    pthread_mutex_lock(&d->lock);
    if (d->quit) {
      pthread_mutex_unlock(&d->lock);
      return NULL;
    }
    if (d->running == 1) {
      uint64_t c = consumed_at(d, now);
      uint64_t played = c < d->written ? c : d->written;
      uint64_t queued = d->written - played;
      snd_pcm_uframes_t avail = d->io.buffer_size > queued ? d->io.buffer_size - queued : 0;
      if ((avail >= d->avail_min || c >= d->written) && !d->signalled) {
        uint64_t one = 1;
        if (write(d->event_fd, &one, sizeof one) < 0) {
        }
        d->signalled = 1;
      }
      if (now - d->last_pos_at >= 50000000 && played != d->last_pos) {
        idx_line(d, "pos %llu\n", (unsigned long long)played);
        d->last_pos = played;
        d->last_pos_at = now;
      }
      if (!d->signalled && avail < d->avail_min) {
        /* When enough will have played for avail_min: frame written − buffer + avail_min. */
        uint64_t need = d->written + d->avail_min - d->io.buffer_size;
        int64_t due = d->t0 + (int64_t)((double)need * 1e9 / eff_rate(d)) + 1000;
        if (due < next) next = due;
      }
    }
    pthread_mutex_unlock(&d->lock);
    sleep_until(next);
  }
}

static int td_start(snd_pcm_ioplug_t *io) {
  truedac_t *d = io->private_data;
  pthread_mutex_lock(&d->lock);
  d->t0 = true_ns();
  d->running = 1;
  d->last_pos = 0;
  d->last_pos_at = d->t0;
  idx_line(d, "start %lld %llu\n", (long long)d->t0, (unsigned long long)(d->file_frames - d->written));
  pthread_mutex_unlock(&d->lock);
  return 0;
}

static int td_stop(snd_pcm_ioplug_t *io) {
  truedac_t *d = io->private_data;
  pthread_mutex_lock(&d->lock);
  if (d->running == 1) {
    uint64_t c = consumed_at(d, true_ns());
    end_run(d, c < d->written ? c : d->written);
  }
  d->running = 0;
  pthread_mutex_unlock(&d->lock);
  return 0;
}

static snd_pcm_sframes_t td_pointer(snd_pcm_ioplug_t *io) {
  truedac_t *d = io->private_data;
  pthread_mutex_lock(&d->lock);
  snd_pcm_sframes_t r;
  if (d->running == 0) {
    r = 0; /* prepared: nothing played yet */
  } else if (d->running == 2) {
    r = -EPIPE;
  } else {
    uint64_t c = consumed_at(d, true_ns());
    if (c >= d->written) {
      end_run(d, d->written); /* the buffer ran dry: underrun */
      d->running = 2;
      r = -EPIPE;
    } else {
      r = (snd_pcm_sframes_t)(c % d->boundary);
    }
  }
  pthread_mutex_unlock(&d->lock);
  return r;
}

static snd_pcm_sframes_t td_transfer(snd_pcm_ioplug_t *io, const snd_pcm_channel_area_t *areas, snd_pcm_uframes_t offset,
                                     snd_pcm_uframes_t size) {
  truedac_t *d = io->private_data;
  /* RW interleaved s16: the frames are contiguous in the first area. */
  const char *src = (const char *)areas[0].addr + (areas[0].first + areas[0].step * offset) / 8;
  size_t bytes = size * io->channels * 2;
  while (bytes > 0) {
    ssize_t n = write(d->raw_fd, src, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    src += n;
    bytes -= (size_t)n;
  }
  pthread_mutex_lock(&d->lock);
  d->written += size;
  d->file_frames += size;
  d->signalled = 0;
  pthread_mutex_unlock(&d->lock);
  return (snd_pcm_sframes_t)size;
}

static int td_prepare(snd_pcm_ioplug_t *io) {
  truedac_t *d = io->private_data;
  pthread_mutex_lock(&d->lock);
  if (d->running == 1) end_run(d, d->written);
  d->running = 0;
  d->written = 0;
  d->signalled = 0;
  pthread_mutex_unlock(&d->lock);
  return 0;
}

static int td_sw_params(snd_pcm_ioplug_t *io, snd_pcm_sw_params_t *params) {
  truedac_t *d = io->private_data;
  snd_pcm_uframes_t am = 1, b = 0;
  snd_pcm_sw_params_get_avail_min(params, &am);
  snd_pcm_sw_params_get_boundary(params, &b);
  pthread_mutex_lock(&d->lock);
  d->avail_min = am ? am : 1;
  if (b) d->boundary = b;
  pthread_mutex_unlock(&d->lock);
  return 0;
}

static int td_hw_params(snd_pcm_ioplug_t *io, snd_pcm_hw_params_t *params) {
  (void)params;
  truedac_t *d = io->private_data;
  idx_line(d, "rate %u channels %u ppm %.6f buffer %lu period %lu\n", io->rate, io->channels, d->ppm,
           (unsigned long)io->buffer_size, (unsigned long)io->period_size);
  return 0;
}

static int td_poll_revents(snd_pcm_ioplug_t *io, struct pollfd *pfd, unsigned int nfds, unsigned short *revents) {
  truedac_t *d = io->private_data;
  (void)nfds;
  uint64_t v;
  if (pfd[0].revents & POLLIN) {
    if (read(d->event_fd, &v, sizeof v) < 0) {
    }
  }
  /* From this plugin's own state: calling back into the PCM here would take its lock again. */
  pthread_mutex_lock(&d->lock);
  d->signalled = 0;
  int xrun = d->running == 2;
  uint64_t played = 0;
  if (d->running == 1) {
    uint64_t c = consumed_at(d, true_ns());
    played = c < d->written ? c : d->written;
    if (c >= d->written) xrun = 1;
  }
  uint64_t queued = d->running == 1 ? d->written - played : d->written;
  snd_pcm_uframes_t avail = d->io.buffer_size > queued ? d->io.buffer_size - queued : 0;
  pthread_mutex_unlock(&d->lock);
  *revents = xrun || avail >= d->avail_min ? POLLOUT : 0; /* an underrun shows at the next write (-EPIPE) */
  return 0;
}

static int td_close(snd_pcm_ioplug_t *io) {
  truedac_t *d = io->private_data;
  td_stop(io);
  pthread_mutex_lock(&d->lock);
  d->quit = 1;
  pthread_mutex_unlock(&d->lock);
  if (d->thread_up) pthread_join(d->thread, NULL); /* it looks at least every 2 ms */
  close(d->raw_fd);
  close(d->idx_fd);
  close(d->event_fd);
  free(d->prefix);
  pthread_mutex_destroy(&d->lock);
  free(d);
  return 0;
}

static const snd_pcm_ioplug_callback_t callbacks = {
    .start = td_start,
    .stop = td_stop,
    .pointer = td_pointer,
    .transfer = td_transfer,
    .close = td_close,
    .hw_params = td_hw_params,
    .sw_params = td_sw_params,
    .prepare = td_prepare,
    .poll_revents = td_poll_revents,
};

SND_PCM_PLUGIN_DEFINE_FUNC(truedac) {
  (void)root;
  const char *file = NULL;
  double ppm = 0;
  snd_config_iterator_t i, next;
  snd_config_for_each(i, next, conf) {
    snd_config_t *n = snd_config_iterator_entry(i);
    const char *id;
    if (snd_config_get_id(n, &id) < 0) continue;
    if (!strcmp(id, "comment") || !strcmp(id, "type") || !strcmp(id, "hint")) continue;
    if (!strcmp(id, "file")) {
      if (snd_config_get_string(n, &file) < 0) {
        SNDERR("truedac: file must be a string");
        return -EINVAL;
      }
      continue;
    }
    if (!strcmp(id, "ppm")) {
      if (snd_config_get_ireal(n, &ppm) < 0) {
        SNDERR("truedac: ppm must be a number");
        return -EINVAL;
      }
      continue;
    }
    SNDERR("truedac: unknown field %s", id);
    return -EINVAL;
  }
  if (!file) {
    SNDERR("truedac: no file");
    return -EINVAL;
  }
  if (stream != SND_PCM_STREAM_PLAYBACK) {
    SNDERR("truedac: playback only");
    return -EINVAL;
  }
  truedac_t *d = calloc(1, sizeof *d);
  if (!d) return -ENOMEM;
  static int opened = 0;
  char path[4096];
  int n_open = __sync_fetch_and_add(&opened, 1);
  d->prefix = strdup(file);
  d->ppm = ppm;
  d->boundary = (snd_pcm_uframes_t)1 << 62; /* until sw_params says (ALSA's is as large) */
  d->avail_min = 1;
  pthread_mutex_init(&d->lock, NULL);
  snprintf(path, sizeof path, "%s-%d-%d.raw", file, (int)getpid(), n_open);
  d->raw_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  snprintf(path, sizeof path, "%s-%d-%d.idx", file, (int)getpid(), n_open);
  d->idx_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  d->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (d->raw_fd < 0 || d->idx_fd < 0 || d->event_fd < 0) {
    int e = errno;
    SNDERR("truedac: cannot open %s: %s", path, strerror(e));
    if (d->raw_fd >= 0) close(d->raw_fd);
    if (d->idx_fd >= 0) close(d->idx_fd);
    if (d->event_fd >= 0) close(d->event_fd);
    free(d->prefix);
    free(d);
    return -e;
  }
  d->io.version = SND_PCM_IOPLUG_VERSION;
  d->io.name = "true-time DAC stand-in";
  d->io.callback = &callbacks;
  d->io.private_data = d;
  d->io.poll_fd = d->event_fd;
  d->io.poll_events = POLLIN;
  d->io.mmap_rw = 0;
  d->io.flags = SND_PCM_IOPLUG_FLAG_BOUNDARY_WA | SND_PCM_IOPLUG_FLAG_MONOTONIC;
  int err = snd_pcm_ioplug_create(&d->io, name, stream, mode);
  if (err < 0) goto fail;
  static const unsigned int access[] = {SND_PCM_ACCESS_RW_INTERLEAVED};
  static const unsigned int formats[] = {SND_PCM_FORMAT_S16_LE};
  if ((err = snd_pcm_ioplug_set_param_list(&d->io, SND_PCM_IOPLUG_HW_ACCESS, 1, access)) < 0 ||
      (err = snd_pcm_ioplug_set_param_list(&d->io, SND_PCM_IOPLUG_HW_FORMAT, 1, formats)) < 0 ||
      (err = snd_pcm_ioplug_set_param_minmax(&d->io, SND_PCM_IOPLUG_HW_CHANNELS, 1, 8)) < 0 ||
      (err = snd_pcm_ioplug_set_param_minmax(&d->io, SND_PCM_IOPLUG_HW_RATE, 8000, 192000)) < 0 ||
      (err = snd_pcm_ioplug_set_param_minmax(&d->io, SND_PCM_IOPLUG_HW_PERIOD_BYTES, 64, 1 << 20)) < 0 ||
      (err = snd_pcm_ioplug_set_param_minmax(&d->io, SND_PCM_IOPLUG_HW_PERIODS, 2, 1024)) < 0 ||
      (err = snd_pcm_ioplug_set_param_minmax(&d->io, SND_PCM_IOPLUG_HW_BUFFER_BYTES, 256, 4 << 20)) < 0) {
    snd_pcm_ioplug_delete(&d->io);
    return err;
  }
  if (pthread_create(&d->thread, NULL, pacer, d) == 0) d->thread_up = 1;
  *pcmp = d->io.pcm;
  return 0;
fail:
  close(d->raw_fd);
  close(d->idx_fd);
  close(d->event_fd);
  free(d->prefix);
  free(d);
  return err;
}

SND_PCM_PLUGIN_SYMBOL(truedac);
