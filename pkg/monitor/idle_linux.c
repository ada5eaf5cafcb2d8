// The idle monitor: a small event loop in C that the Go monitor becomes
// (execve of the tug binary, same PID) once the container runs, so that
// what stays resident while it runs is libc and a few pages, not the Go
// runtime. A constructor recognises its argv[0] and runs the loop before
// the Go runtime starts; it never returns into Go. It does what the Go
// monitor does meanwhile: copy the output to the log (idle_log_linux.c) and
// to attach clients, take their stdin, resize the terminal, run the health
// check (a short-lived Go helper per probe), and wait for the container's
// exit; then it becomes Go again (FINISH_NAME) to record the exit and hand
// over to the cleanup. idle_linux.go starts it and documents its arguments.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "idle_linux.h"

// Frame types of protocol.go.
#define FRAME_HELLO 'h'
#define FRAME_STDIN 'i'
#define FRAME_EOF 'e'
#define FRAME_RESIZE 'r'
#define FRAME_CLEANED 'c'
#define FRAME_STDOUT '1'
#define FRAME_STDERR '2'
#define FRAME_HEALTH_RUN 'k'
#define FRAME_HEALTH_RESULT 'K'
#define MAX_FRAME (1 << 20)

#define READ_SIZE (32 << 10) // as the Go monitor's copy buffer
#define MAX_CLIENTS 64
#define MAX_FDS 32
#define DRAIN_NS 5000000000LL // output drained at most this long after the exit

// Health statuses, as the health helper exits with them.
enum
{
  HEALTH_STARTING,
  HEALTH_HEALTHY,
  HEALTH_UNHEALTHY
};

struct client
{
  int fd;          // -1: gone
  int hello;       // its Hello came
  int in, out, err; // the streams it asked for
  int rd_eof;      // it sends no more (it may still read)
  int wants_health; // waits for a FRAME_HEALTH_RESULT
  unsigned char hdr[5];
  size_t hdr_n;
  unsigned char *payload;
  size_t len, got;
};

struct stream
{
  int fd; // -1: at its end
  const char *name;
  unsigned char partial[LOG_MAX_LINE + READ_SIZE];
  size_t n;
};

static struct
{
  const char *rundir;
  char **env;
  pid_t pid; // the container's init, our child
  int pidfd;
  int exited, status;
  struct timespec finished;
  long long drain_until; // CLOCK_MONOTONIC ns, once exited

  struct stream out, err; // a pty's master is out
  int tty;
  int in_fd; // the container's stdin, -1 if none
  int stdin_once, stdin_closed;
  unsigned char *in_buf;
  size_t in_len;

  int listen_fd;
  struct client clients[MAX_CLIENTS];
  int cleaned;
  int keep[MAX_FDS]; // held while the container runs (reserved ports)
  int nkeep;
  char *finish_args[MAX_FDS]; // "fin-" arguments, passed to FINISH_NAME as they are
  int nfinish;

  int log_driver;
  const char *log_path;
  long long log_max_size, log_size;
  int log_max_file, log_fd;
  char *entry;
  size_t entry_cap;

  int health; // a health check is configured
  long long h_started, h_period, h_interval, h_start_interval; // ns; started is Unix time
  int h_status;
  long long h_next;                // CLOCK_MONOTONIC ns of the next scheduled probe; 0: none
  pid_t h_pid;                     // the running helper, 0 if none
  int h_pidfd, h_out, h_now;       // its pidfd, its output pipe, whether it was asked for
  int h_want_now;                  // a client asked while another probe ran
  char h_result[64 << 10];
  size_t h_result_n;
} m;

static long long mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long real_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_all(int fd, const void *p, size_t n)
{
  const char *b = p;
  while (n > 0)
    {
      ssize_t w = write(fd, b, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return -1;
      b += w;
      n -= (size_t) w;
    }
  return 0;
}

// --- the log: pkg/logs' fileWriter ---

static void log_open(void)
{
  struct stat st;

  m.log_fd = open(m.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  m.log_size = m.log_fd >= 0 && fstat(m.log_fd, &st) == 0 ? st.st_size : 0;
}

// log_rotate keeps log_max_file files: path, path.1, ... as rotate() does.
static void log_rotate(void)
{
  char from[4096], to[4096];
  int i;

  close(m.log_fd);
  if (m.log_max_file <= 1)
    unlink(m.log_path);
  else
    {
      snprintf(to, sizeof to, "%s.%d", m.log_path, m.log_max_file - 1);
      unlink(to);
      for (i = m.log_max_file - 2; i >= 1; i--)
        {
          snprintf(from, sizeof from, "%s.%d", m.log_path, i);
          snprintf(to, sizeof to, "%s.%d", m.log_path, i + 1);
          rename(from, to);
        }
      snprintf(to, sizeof to, "%s.1", m.log_path);
      rename(m.log_path, to);
    }
  m.log_fd = open(m.log_path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  m.log_size = 0;
}

static void log_entry(struct stream *s, const unsigned char *line, size_t n, int partial)
{
  struct timespec now;
  size_t len;

  if (tug_log_entry_max(n) > m.entry_cap)
    {
      free(m.entry);
      m.entry_cap = tug_log_entry_max(n);
      m.entry = malloc(m.entry_cap);
      if (m.entry == NULL)
        {
          m.entry_cap = 0;
          return;
        }
    }
  clock_gettime(CLOCK_REALTIME, &now);
  len = tug_log_entry(m.log_driver, s->name, line, n, partial, now.tv_sec, now.tv_nsec, m.entry);
  if (m.log_max_size > 0 && m.log_size > 0 && m.log_size + (long long) len > m.log_max_size)
    log_rotate();
  if (m.log_fd >= 0 && write_all(m.log_fd, m.entry, len) == 0)
    m.log_size += (long long) len;
}

// log_write is fileWriter.Write: whole lines, or cuts of LOG_MAX_LINE.
static void log_write(struct stream *s, const unsigned char *p, size_t n)
{
  unsigned char *data = s->partial, *nl;
  size_t len;

  if (m.log_driver == LOG_NONE)
    return;
  memcpy(s->partial + s->n, p, n);
  len = s->n + n;
  while ((nl = memchr(data, '\n', len)) != NULL)
    {
      log_entry(s, data, (size_t) (nl - data) + 1, 0);
      len -= (size_t) (nl - data) + 1;
      data = nl + 1;
    }
  while (len >= LOG_MAX_LINE)
    {
      log_entry(s, data, LOG_MAX_LINE, 1);
      data += LOG_MAX_LINE;
      len -= LOG_MAX_LINE;
    }
  memmove(s->partial, data, len);
  s->n = len;
}

static void log_close(void)
{
  if (m.log_driver == LOG_NONE)
    return;
  if (m.out.n > 0)
    log_entry(&m.out, m.out.partial, m.out.n, 1);
  if (m.err.n > 0)
    log_entry(&m.err, m.err.partial, m.err.n, 1);
  if (m.log_fd >= 0)
    close(m.log_fd);
}

// --- attach clients ---

static void client_close(struct client *c)
{
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  free(c->payload);
  c->payload = NULL;
}

static void send_frame(struct client *c, char type, const void *p, size_t n)
{
  static unsigned char buf[5 + READ_SIZE];
  unsigned char hdr[5] = {(unsigned char) type, (unsigned char) (n >> 24), (unsigned char) (n >> 16), (unsigned char) (n >> 8),
                          (unsigned char) n};
  int err;

  if (c->fd < 0)
    return;
  if (n <= READ_SIZE)
    {
      memcpy(buf, hdr, 5);
      memcpy(buf + 5, p, n);
      err = write_all(c->fd, buf, n + 5);
    }
  else
    err = write_all(c->fd, hdr, 5) || write_all(c->fd, p, n);
  if (err)
    client_close(c); // gone, or not reading for 10 s (SO_SNDTIMEO)
}

static void client_add(int fd)
{
  struct timeval tv = {10, 0};
  int i;

  for (i = 0; i < MAX_CLIENTS; i++)
    if (m.clients[i].fd < 0)
      break;
  if (i == MAX_CLIENTS)
    {
      close(fd);
      return;
    }
  memset(&m.clients[i], 0, sizeof m.clients[i]);
  m.clients[i].fd = fd;
  // Blocking writes, given up after 10 s, as the Go monitor's deadline.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  fcntl(fd, F_SETFD, 0);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// json_bool and json_uint read a field of the Hello, tolerantly.
static int json_field(const char *json, const char *key, const char **val)
{
  char pat[32];
  const char *p;

  snprintf(pat, sizeof pat, "\"%s\"", key);
  if ((p = strstr(json, pat)) == NULL)
    return 0;
  p += strlen(pat);
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')
    p++;
  *val = p;
  return 1;
}

static int json_bool(const char *json, const char *key)
{
  const char *v;
  return json_field(json, key, &v) && strncmp(v, "true", 4) == 0;
}

static unsigned json_uint(const char *json, const char *key)
{
  const char *v;
  return json_field(json, key, &v) ? (unsigned) strtoul(v, NULL, 10) & 0xFFFF : 0;
}

static void set_size(unsigned rows, unsigned cols)
{
  struct winsize ws = {0};
  ws.ws_row = (unsigned short) rows;
  ws.ws_col = (unsigned short) cols;
  if (m.tty && m.out.fd >= 0)
    ioctl(m.out.fd, TIOCSWINSZ, &ws);
  else if (m.tty && m.in_fd >= 0)
    ioctl(m.in_fd, TIOCSWINSZ, &ws);
}

static void health_spawn(int now);
static const char not_running[] = "{\"status\":\"unhealthy\",\"result\":{\"Start\":\"0001-01-01T00:00:00Z\","
                                  "\"End\":\"0001-01-01T00:00:00Z\",\"ExitCode\":-1,\"Output\":\"the container is not running\"}}";


static void handle_frame(struct client *c, unsigned char type, unsigned char *p, size_t n)
{
  if (!c->hello)
    {
      char *json;
      if (type != FRAME_HELLO || (json = strndup((char *) p, n)) == NULL)
        {
          client_close(c);
          return;
        }
      c->hello = 1;
      c->in = json_bool(json, "stdin");
      c->out = json_bool(json, "stdout");
      c->err = json_bool(json, "stderr");
      if (json_uint(json, "rows") > 0)
        set_size(json_uint(json, "rows"), json_uint(json, "cols"));
      free(json);
      return;
    }
  switch (type)
    {
    case FRAME_STDIN:
      if (c->in && m.in_fd >= 0 && n > 0)
        {
          unsigned char *b = realloc(m.in_buf, m.in_len + n);
          if (b == NULL)
            return;
          m.in_buf = b;
          memcpy(m.in_buf + m.in_len, p, n);
          m.in_len += n;
        }
      break;
    case FRAME_EOF:
      // StdinOnce: the first client's end of input is the container's. Not
      // with a terminal, where the master stays open.
      if (c->in && m.stdin_once && m.in_fd >= 0 && !m.tty && !m.stdin_closed)
        {
          m.stdin_closed = 1;
          close(m.in_fd);
          m.in_fd = -1;
        }
      break;
    case FRAME_RESIZE:
      if (n == 4)
        set_size((unsigned) p[0] << 8 | p[1], (unsigned) p[2] << 8 | p[3]);
      break;
    case FRAME_CLEANED:
      m.cleaned = 1;
      c->rd_eof = 1;
      break;
    case FRAME_HEALTH_RUN:
      if (!m.health)
        {
          static const char none[] = "{\"result\":{\"Start\":\"0001-01-01T00:00:00Z\",\"End\":\"0001-01-01T00:00:00Z\","
                                     "\"ExitCode\":0,\"Output\":\"\"},\"error\":\"container has no defined healthcheck\"}";
          send_frame(c, FRAME_HEALTH_RESULT, none, sizeof none - 1);
          break;
        }
      if (m.exited)
        {
          send_frame(c, FRAME_HEALTH_RESULT, not_running, sizeof not_running - 1);
          break;
        }
      c->wants_health = 1;
      if (m.h_pid == 0)
        health_spawn(1);
      else
        m.h_want_now = 1;
      break;
    }
}

// client_read reads what is there of the client's current frame (never past
// it: the stdin of one frame is written before the next is read).
static void client_read(struct client *c)
{
  ssize_t r;

  if (c->hdr_n < 5)
    {
      r = read(c->fd, c->hdr + c->hdr_n, 5 - c->hdr_n);
      if (r <= 0)
        goto eof;
      c->hdr_n += (size_t) r;
      if (c->hdr_n < 5)
        return;
      c->len = (size_t) c->hdr[1] << 24 | (size_t) c->hdr[2] << 16 | (size_t) c->hdr[3] << 8 | c->hdr[4];
      if (c->len > MAX_FRAME || (c->payload = malloc(c->len + 1)) == NULL)
        {
          client_close(c);
          return;
        }
      c->got = 0;
    }
  if (c->got < c->len)
    {
      r = read(c->fd, c->payload + c->got, c->len - c->got);
      if (r <= 0)
        goto eof;
      c->got += (size_t) r;
    }
  if (c->got == c->len)
    {
      unsigned char *p = c->payload;
      c->payload = NULL;
      c->hdr_n = 0;
      handle_frame(c, c->hdr[0], p, c->len);
      free(p);
    }
  return;
eof:
  if (r < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  // As the Go monitor: a client that sends no more may still read.
  c->rd_eof = 1;
  if (!c->hello)
    client_close(c);
}

// --- the container's output and stdin ---

static void output(struct stream *s)
{
  static unsigned char buf[READ_SIZE];
  int i, is_out = s == &m.out;
  ssize_t n = read(s->fd, buf, sizeof buf);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      // The end (EIO on a terminal once no slave is open). A master stays
      // open for the stdin.
      if (!(m.tty && s->fd == m.in_fd))
        close(s->fd);
      s->fd = -1;
      return;
    }
  log_write(s, buf, (size_t) n);
  for (i = 0; i < MAX_CLIENTS; i++)
    {
      struct client *c = &m.clients[i];
      if (c->fd >= 0 && c->hello && (is_out ? c->out : c->err))
        send_frame(c, is_out ? FRAME_STDOUT : FRAME_STDERR, buf, (size_t) n);
    }
}

static void write_stdin(void)
{
  ssize_t w = write(m.in_fd, m.in_buf, m.in_len);

  if (w < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (w < 0)
    {
      m.in_len = 0; // the container does not read it any more
      return;
    }
  memmove(m.in_buf, m.in_buf + w, m.in_len - (size_t) w);
  m.in_len -= (size_t) w;
}

// --- the health check: a Go helper (HEALTH_NAME) per probe ---

static long long health_wait(void)
{
  long long elapsed = real_ns() - m.h_started, left;

  if (elapsed >= m.h_period)
    return m.h_interval;
  left = m.h_period - elapsed;
  if (left < m.h_interval)
    return left;
  return m.h_status == HEALTH_STARTING ? m.h_start_interval : m.h_interval;
}

static void health_spawn(int now)
{
  char started[32];
  char *argv[] = {HEALTH_NAME, (char *) m.rundir, now ? "now" : "scheduled", started, NULL};
  int p[2];

  snprintf(started, sizeof started, "%lld", m.h_started);
  pid_t pid;

  if (pipe2(p, O_CLOEXEC) < 0)
    return;
  pid = fork();
  if (pid == 0)
    {
      dup2(p[1], 1);
      // Nothing of the monitor's: a client or the stdin held open here
      // would miss its end while the probe runs.
      syscall(SYS_close_range, 3U, ~0U, 0U);
      signal(SIGPIPE, SIG_DFL);
      execve("/proc/self/exe", argv, m.env);
      _exit(127);
    }
  close(p[1]);
  if (pid < 0)
    {
      close(p[0]);
      return;
    }
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  m.h_pid = pid;
  m.h_pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
  m.h_out = p[0];
  m.h_now = now;
  m.h_result_n = 0;
  if (!now)
    m.h_next = 0;
}

static void health_read(void)
{
  ssize_t n;

  while (m.h_result_n < sizeof m.h_result &&
         (n = read(m.h_out, m.h_result + m.h_result_n, sizeof m.h_result - m.h_result_n)) > 0)
    m.h_result_n += (size_t) n;
}

// health_reply sends a probe's result to the clients that asked for one.
static void health_reply(const char *res, size_t n)
{
  int i;

  for (i = 0; i < MAX_CLIENTS; i++)
    if (m.clients[i].fd >= 0 && m.clients[i].wants_health)
      {
        m.clients[i].wants_health = 0;
        send_frame(&m.clients[i], FRAME_HEALTH_RESULT, res, n);
      }
}

static void health_done(int killed)
{
  int st = 0;

  if (killed)
    kill(m.h_pid, SIGKILL);
  while (waitpid(m.h_pid, &st, 0) < 0 && errno == EINTR)
    ;
  health_read();
  close(m.h_out);
  if (m.h_pidfd >= 0)
    close(m.h_pidfd);
  m.h_pid = 0;
  if (!killed && WIFEXITED(st) && WEXITSTATUS(st) <= HEALTH_UNHEALTHY)
    m.h_status = WEXITSTATUS(st);
  if (m.h_now)
    {
      if (killed || m.h_result_n == 0)
        health_reply(not_running, sizeof not_running - 1);
      else
        health_reply(m.h_result, m.h_result_n);
    }
  else if (!killed)
    m.h_next = mono_ns() + health_wait(); // counted from the probe's end, as Docker
  if (killed)
    return;
  if (m.h_want_now)
    {
      m.h_want_now = 0;
      health_spawn(1);
    }
  else if (m.h_next != 0 && m.h_next <= mono_ns())
    health_spawn(0);
}

// --- the exit, and the hand-over to Go ---

static void container_exited(int status)
{
  int i;

  clock_gettime(CLOCK_REALTIME, &m.finished);
  m.exited = 1;
  m.status = status;
  m.drain_until = mono_ns() + DRAIN_NS;
  // Published ports are free once the container has exited.
  for (i = 0; i < m.nkeep; i++)
    close(m.keep[i]);
  m.nkeep = 0;
  if (m.h_pid)
    health_done(1);
  m.h_next = 0;
  if (m.h_want_now)
    health_reply(not_running, sizeof not_running - 1);
}

static void finish(void)
{
  char *argv[MAX_CLIENTS + MAX_FDS + 8];
  char code[32], when[64], cleaned[32], fds[MAX_CLIENTS][24];
  int argc = 0, i, c;

  log_close();
  if (WIFSIGNALED(m.status))
    c = 128 + WTERMSIG(m.status);
  else
    c = WEXITSTATUS(m.status);
  snprintf(code, sizeof code, "code=%d", c);
  snprintf(when, sizeof when, "finished=%lld.%09ld", (long long) m.finished.tv_sec, m.finished.tv_nsec);
  snprintf(cleaned, sizeof cleaned, "cleaned=%d", m.cleaned);
  argv[argc++] = FINISH_NAME;
  argv[argc++] = (char *) m.rundir;
  argv[argc++] = code;
  argv[argc++] = when;
  argv[argc++] = cleaned;
  for (i = 0; i < m.nfinish; i++)
    argv[argc++] = m.finish_args[i];
  for (i = 0; i < MAX_CLIENTS; i++)
    if (m.clients[i].fd >= 0)
      {
        if (!m.clients[i].hello)
          {
            client_close(&m.clients[i]);
            continue;
          }
        snprintf(fds[i], sizeof fds[i], "client=%d", m.clients[i].fd);
        argv[argc++] = fds[i];
      }
  argv[argc] = NULL;
  if (m.listen_fd >= 0)
    close(m.listen_fd);
  if (m.in_fd >= 0)
    close(m.in_fd);
  if (m.out.fd >= 0 && m.out.fd != m.in_fd)
    close(m.out.fd);
  if (m.err.fd >= 0)
    close(m.err.fd);
  signal(SIGPIPE, SIG_DFL);
  execve("/proc/self/exe", argv, m.env);
  // Nothing records the exit then: the next tug call does, as when a
  // monitor is killed.
  _exit(1);
}

static void check_exit(void)
{
  int st;
  pid_t r = waitpid(m.pid, &st, WNOHANG);

  if (r == m.pid)
    container_exited(st);
  else if (r < 0 && errno == ECHILD)
    container_exited(255 << 8);
}

// --- the loop ---

static void loop(void)
{
  struct pollfd fds[MAX_CLIENTS + 8];
  struct client *who[MAX_CLIENTS + 8];
  enum
  {
    P_EXIT,
    P_OUT,
    P_ERR,
    P_STDIN,
    P_LISTEN,
    P_HEALTH,
    P_CLIENT
  } what[MAX_CLIENTS + 8];
  int n, i, timeout;
  long long now, until;

  for (;;)
    {
      now = mono_ns();
      if (m.exited && ((m.out.fd < 0 && m.err.fd < 0) || now >= m.drain_until))
        finish();
      if (!m.exited && m.health && m.h_pid == 0 && m.h_next != 0 && m.h_next <= now)
        health_spawn(0);
      n = 0;
#define WATCH(fd_, ev, kind, c)                                                                                                \
  do                                                                                                                           \
    {                                                                                                                          \
      fds[n].fd = (fd_);                                                                                                       \
      fds[n].events = (ev);                                                                                                    \
      what[n] = (kind);                                                                                                        \
      who[n++] = (c);                                                                                                          \
    }                                                                                                                          \
  while (0)
      if (!m.exited)
        WATCH(m.pidfd, POLLIN, P_EXIT, NULL);
      if (m.out.fd >= 0)
        WATCH(m.out.fd, POLLIN, P_OUT, NULL);
      if (m.err.fd >= 0)
        WATCH(m.err.fd, POLLIN, P_ERR, NULL);
      if (m.in_fd >= 0 && m.in_len > 0)
        WATCH(m.in_fd, POLLOUT, P_STDIN, NULL);
      if (m.listen_fd >= 0)
        WATCH(m.listen_fd, POLLIN, P_LISTEN, NULL);
      if (m.h_pid)
        WATCH(m.h_pidfd, POLLIN, P_HEALTH, NULL);
      for (i = 0; i < MAX_CLIENTS; i++)
        {
          struct client *c = &m.clients[i];
          // A client's stdin waits while the container's is full.
          if (c->fd >= 0 && !c->rd_eof && !(c->hello && c->in && m.in_len > 0))
            WATCH(c->fd, POLLIN, P_CLIENT, c);
        }
      until = m.exited ? m.drain_until : m.h_pid == 0 ? m.h_next : 0;
      timeout = until ? (int) ((until - now) / 1000000 + 1) : -1;
      if (poll(fds, (nfds_t) n, timeout) < 0)
        continue;
      for (i = 0; i < n; i++)
        {
          if (fds[i].revents == 0)
            continue;
          switch (what[i])
            {
            case P_EXIT:
              check_exit();
              break;
            case P_OUT:
              if (m.out.fd >= 0)
                output(&m.out);
              break;
            case P_ERR:
              if (m.err.fd >= 0)
                output(&m.err);
              break;
            case P_STDIN:
              if (m.in_fd >= 0)
                write_stdin();
              break;
            case P_LISTEN:
              {
                int fd = accept(m.listen_fd, NULL, NULL);
                if (fd >= 0)
                  client_add(fd);
                break;
              }
            case P_HEALTH:
              if (m.h_pid)
                health_done(0);
              break;
            case P_CLIENT:
              if (who[i]->fd == fds[i].fd)
                client_read(who[i]);
              break;
            }
        }
    }
}

static long long arg_ll(const char *a, const char *key)
{
  size_t k = strlen(key);
  return strncmp(a, key, k) == 0 && a[k] == '=' ? strtoll(a + k + 1, NULL, 10) : -1;
}

// idle_main parses the arguments (idle_linux.go's becomeIdle writes them:
// key=value, fds and nanoseconds as decimal numbers) and runs the loop.
static void idle_main(int argc, char **argv, char **envp)
{
  int i;
  long long v;

  prctl(PR_SET_NAME, IDLE_NAME); // comm: "tug-monitor-idl", not "exe"
  memset(&m, 0, sizeof m);
  m.rundir = argv[1];
  m.env = envp;
  m.out.fd = m.err.fd = m.in_fd = m.listen_fd = m.log_fd = -1;
  m.out.name = "stdout";
  m.err.name = "stderr";
  m.log_max_file = 1;
  for (i = 0; i < MAX_CLIENTS; i++)
    m.clients[i].fd = -1;
  for (i = 2; i < argc; i++)
    {
      char *a = argv[i];
      if ((v = arg_ll(a, "pid")) >= 0)
        m.pid = (pid_t) v;
      else if ((v = arg_ll(a, "out")) >= 0)
        m.out.fd = (int) v;
      else if ((v = arg_ll(a, "err")) >= 0)
        m.err.fd = (int) v;
      else if ((v = arg_ll(a, "pty")) >= 0)
        m.out.fd = (int) v, m.tty = 1;
      else if ((v = arg_ll(a, "in")) >= 0)
        m.in_fd = (int) v;
      else if ((v = arg_ll(a, "stdinonce")) >= 0)
        m.stdin_once = (int) v;
      else if ((v = arg_ll(a, "listen")) >= 0)
        m.listen_fd = (int) v;
      else if ((v = arg_ll(a, "client")) >= 0)
        client_add((int) v);
      else if ((v = arg_ll(a, "keep")) >= 0 && m.nkeep < MAX_FDS)
        m.keep[m.nkeep++] = (int) v;
      else if (strncmp(a, "fin-", 4) == 0 && m.nfinish < MAX_FDS)
        m.finish_args[m.nfinish++] = a;
      else if (strcmp(a, "log=json-file") == 0)
        m.log_driver = LOG_JSON;
      else if (strcmp(a, "log=k8s-file") == 0)
        m.log_driver = LOG_K8S;
      else if (strncmp(a, "logpath=", 8) == 0)
        m.log_path = a + 8;
      else if ((v = arg_ll(a, "maxsize")) >= 0)
        m.log_max_size = v;
      else if ((v = arg_ll(a, "maxfile")) >= 1)
        m.log_max_file = (int) v;
      else if ((v = arg_ll(a, "hstarted")) >= 0)
        m.health = 1, m.h_started = v;
      else if ((v = arg_ll(a, "hperiod")) >= 0)
        m.h_period = v;
      else if ((v = arg_ll(a, "hinterval")) >= 0)
        m.h_interval = v;
      else if ((v = arg_ll(a, "hstartinterval")) >= 0)
        m.h_start_interval = v;
      else if ((v = arg_ll(a, "hfirst")) >= 0)
        m.h_next = mono_ns() + (v - real_ns()); // a Unix time
    }
  if (m.tty && m.in_fd == m.out.fd)
    m.in_fd = dup(m.out.fd); // written and closed on its own
  if (m.in_fd >= 0)
    fcntl(m.in_fd, F_SETFL, fcntl(m.in_fd, F_GETFL) | O_NONBLOCK);
  if (m.listen_fd >= 0)
    fcntl(m.listen_fd, F_SETFL, fcntl(m.listen_fd, F_GETFL) | O_NONBLOCK);
  if (m.log_driver != LOG_NONE && m.log_path)
    log_open();
  if (m.health && m.h_next == 0)
    m.h_next = mono_ns() + health_wait();
  // A client handed over has sent its Hello (or does at once): read it
  // before any output, which it would miss otherwise.
  for (i = 0; i < MAX_CLIENTS; i++)
    {
      struct pollfd p = {m.clients[i].fd, POLLIN, 0};
      while (m.clients[i].fd >= 0 && !m.clients[i].hello && !m.clients[i].rd_eof && poll(&p, 1, 1000) > 0)
        client_read(&m.clients[i]);
    }
  signal(SIGPIPE, SIG_IGN);
  m.pidfd = (int) syscall(SYS_pidfd_open, m.pid, 0);
  if (m.pidfd < 0)
    {
      check_exit();
      if (!m.exited)
        _exit(1);
    }
  check_exit(); // it may have exited while we were executed
  loop();
}

static void __attribute__((constructor)) tug_idle_init(int argc, char **argv, char **envp)
{
  if (argc >= 3 && strcmp(argv[0], IDLE_NAME) == 0)
    {
      idle_main(argc, argv, envp);
      _exit(1);
    }
}
