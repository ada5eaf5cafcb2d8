// The rootless join, done before the Go runtime starts: setns() into a user
// namespace is refused to a multithreaded process, and the Go runtime starts
// threads at once. This constructor runs first in every process of the tug
// binary. It only joins an existing pause process (cheap, no re-exec);
// creating one is Go's work (enter_linux.go), which then re-executes tug so
// that this code joins it. See DESIGN.md ("the pause process") and
// enter_linux.go for the whole protocol.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "join_linux.h"

// What the constructor did, read by the Go side (join_linux.go).
int tug_joined;
unsigned int tug_joined_uid, tug_joined_gid;
int tug_joined_single;
static char joined_pidfile[PATH_MAX];
static char join_error[512];

const char *tug_joined_pidfile(void) { return joined_pidfile; }
const char *tug_join_error(void) { return join_error; }

// The global flags of tug that take a value: the scan below must skip their
// values to find the command. A Go test keeps this list in step with cobra's.
static const char *const value_flags[] = {"--root", "--runroot", "--config", "--log-level", NULL};

const char *tug_value_flag(int i) { return value_flags[i]; }

// Commands that never need the namespace: they do not even join.
static const char *const outside_commands[] = {"version", "completion", "help", "__complete", "__completeNoDesc", NULL};

static int in_list(const char *const *list, const char *s)
{
  for (; *list; list++)
    if (strcmp(*list, s) == 0)
      return 1;
  return 0;
}

static int is_runroot_flag(const char *a)
{
  return strcmp(a, "--runroot") == 0 || strncmp(a, "--runroot=", 10) == 0;
}

// The runtime root of an unprivileged user when --runroot is not given; the
// same rule as libpod.DefaultRunRoot.
static int default_runroot(char *out, size_t len)
{
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  const char *tmp = getenv("TMPDIR");
  int n;

  if (xdg && xdg[0])
    n = snprintf(out, len, "%s/tug", xdg);
  else
    n = snprintf(out, len, "%s/tug-run-%u", tmp && tmp[0] ? tmp : "/tmp", (unsigned) geteuid());
  return n > 0 && (size_t) n < len;
}

int tug_pidfile_from_args(int argc, char **argv, char *out, size_t len)
{
  const char *runroot = NULL;
  char dflt[PATH_MAX];
  int i, j, n;

  for (i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (a[0] != '-' || a[1] == '\0')
        break; // the command
      if (strcmp(a, "--") == 0)
        return 0;
      if (strcmp(a, "--runroot") == 0)
        {
          if (i + 1 < argc)
            runroot = argv[++i];
          continue;
        }
      if (strncmp(a, "--runroot=", 10) == 0)
        {
          runroot = a + 10;
          continue;
        }
      if (in_list(value_flags, a))
        i++;
    }
  if (i >= argc || in_list(outside_commands, argv[i]))
    return 0; // help, --version, version, completion: no namespace needed
  // cobra also takes --runroot after the command. Rather than guess what is a
  // flag there, leave such a call to Go, which parses it and re-executes.
  for (j = i + 1; j < argc && strcmp(argv[j], "--") != 0; j++)
    if (is_runroot_flag(argv[j]))
      return 0;
  if (runroot == NULL)
    {
      if (!default_runroot(dflt, sizeof dflt))
        return 0;
      runroot = dflt;
    }
  if (runroot[0] == '\0')
    return 0;
  n = snprintf(out, len, "%s/pause.pid", runroot);
  return n > 0 && (size_t) n < len;
}

static char **read_cmdline(int *argc_out)
{
  size_t cap = 4096, used = 0;
  char *buf = malloc(cap);
  char **argv;
  int fd, argc = 0;
  size_t i;

  if (buf == NULL)
    return NULL;
  fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    goto fail;
  for (;;)
    {
      ssize_t r = read(fd, buf + used, cap - used);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          close(fd);
          goto fail;
        }
      if (r == 0)
        break;
      used += r;
      if (used == cap)
        {
          char *nb = realloc(buf, cap * 2);
          if (nb == NULL)
            {
              close(fd);
              goto fail;
            }
          buf = nb;
          cap *= 2;
        }
    }
  close(fd);
  if (used == 0)
    goto fail;
  if (buf[used - 1] != '\0')
    buf[used++] = '\0'; // room is there: used < cap after the loop
  for (i = 0; i < used; i++)
    if (buf[i] == '\0')
      argc++;
  argv = malloc((argc + 1) * sizeof(char *));
  if (argv == NULL)
    goto fail;
  argv[0] = buf;
  for (i = 0, argc = 1; i + 1 < used; i++)
    if (buf[i] == '\0')
      argv[argc++] = buf + i + 1;
  argv[argc] = NULL;
  *argc_out = argc;
  return argv;
fail:
  free(buf);
  return NULL;
}

// read_small_file reads path; with owner >= 0 only if that user owns it.
static int read_small_file(const char *path, char *buf, size_t len, long owner)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  ssize_t r;

  if (fd < 0)
    return -1;
  if (owner >= 0 && (fstat(fd, &st) < 0 || (long) st.st_uid != owner))
    {
      close(fd);
      errno = EPERM;
      return -1;
    }
  do
    r = read(fd, buf, len - 1);
  while (r < 0 && errno == EINTR);
  close(fd);
  if (r < 0)
    return -1;
  buf[r] = '\0';
  return 0;
}

// A pause process is told from a later process that got its PID by its
// name (comm, field 2 of /proc/PID/stat) and its start time (field 22): with
// the PID, they name one process for the life of the machine.
static int pause_start_time(long pid, unsigned long long *out)
{
  char path[64], buf[1024], *open_paren, *p;
  int field;

  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  if (read_small_file(path, buf, sizeof buf, -1) < 0)
    return -1;
  open_paren = strchr(buf, '(');
  p = strrchr(buf, ')'); // the name may hold spaces and parentheses
  if (open_paren == NULL || p == NULL || p < open_paren)
    return -1;
  if ((size_t) (p - open_paren - 1) != strlen(PAUSE_NAME) || strncmp(open_paren + 1, PAUSE_NAME, strlen(PAUSE_NAME)) != 0)
    return -1;
  p++;
  for (field = 2; field < 21; field++)
    {
      p = strchr(p + 1, ' ');
      if (p == NULL)
        return -1;
    }
  return sscanf(p, " %llu", out) == 1 ? 0 : -1;
}

static int open_ns(long pid, const char *name, unsigned long long want_ino)
{
  char path[64];
  struct stat st;
  int fd;

  snprintf(path, sizeof path, "/proc/%ld/ns/%s", pid, name);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) < 0 || (unsigned long long) st.st_ino != want_ino)
    {
      close(fd);
      errno = ESTALE;
      return -1;
    }
  return fd;
}

static void join_failed(int required, const char *fmt, const char *arg)
{
  if (required)
    snprintf(join_error, sizeof join_error, fmt, arg, strerror(errno));
}

static void fatal(const char *what)
{
  fprintf(stderr, "Error: joining tug's user namespace: %s: %s\n", what, strerror(errno));
  _exit(125);
}

// try_join joins the pause process named by pidfile, if it is really ours.
// When required (Go asked for it), a failure is recorded for Go to report.
static void try_join(const char *pidfile, int required)
{
  char buf[256], *cwd;
  long pid;
  unsigned long long start, userns, mntns, now;
  int single, ufd, mfd;
  uid_t uid = geteuid();
  gid_t gid = getegid();

  if (read_small_file(pidfile, buf, sizeof buf, (long) uid) < 0)
    {
      join_failed(required, "reading %s: %s", pidfile);
      return;
    }
  if (sscanf(buf, "%ld %llu %llu %llu %d", &pid, &start, &userns, &mntns, &single) != 5 || pid <= 0)
    {
      errno = EINVAL;
      join_failed(required, "malformed pid file %s: %s", pidfile);
      return;
    }
  ufd = open_ns(pid, "user", userns);
  if (ufd < 0)
    {
      join_failed(required, "pause process of %s: %s", pidfile);
      return;
    }
  mfd = open_ns(pid, "mnt", mntns);
  if (mfd < 0)
    {
      close(ufd);
      join_failed(required, "pause process of %s: %s", pidfile);
      return;
    }
  // Checked after the namespaces are open: if the PID still names the pause
  // process that started at start, it was alive when they were opened.
  if (pause_start_time(pid, &now) < 0 || now != start)
    {
      close(ufd);
      close(mfd);
      errno = ESRCH;
      join_failed(required, "pause process of %s: %s", pidfile);
      return;
    }
  cwd = getcwd(NULL, 0);
  if (cwd == NULL)
    fatal("getcwd");
  if (setns(ufd, CLONE_NEWUSER) < 0)
    {
      free(cwd);
      close(ufd);
      close(mfd);
      join_failed(required, "setns into the user namespace of %s: %s", pidfile);
      return;
    }
  // From here on the process is half inside: no way back, so errors are fatal.
  if (setns(mfd, CLONE_NEWNS) < 0)
    fatal("setns into the mount namespace");
  close(ufd);
  close(mfd);
  if (syscall(SYS_setresgid, 0, 0, 0) < 0)
    fatal("setresgid");
  if (syscall(SYS_setresuid, 0, 0, 0) < 0)
    fatal("setresuid");
  if (chdir(cwd) < 0)
    {
      fprintf(stderr, "Error: the working directory %s does not exist in tug's mount namespace: %s\n", cwd, strerror(errno));
      _exit(125);
    }
  free(cwd);
  snprintf(joined_pidfile, sizeof joined_pidfile, "%s", pidfile);
  tug_joined_uid = uid;
  tug_joined_gid = gid;
  tug_joined_single = single != 0;
  tug_joined = 1;
}

// run_pause is the pause process. Its parent (pause_linux.go) talks to it on
// fd 3 (we write) and fd 4 (we read): we unshare and say 'R'; the parent
// writes the ID maps and says 'G'; we fork the real pause, report its PID as
// "P<pid>\n" and exit, so that the pause is nobody's child and lives on. It
// never starts the Go runtime: it stays a few hundred kilobytes.
static void run_pause(void)
{
  static const int ignored[] = {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU, 0};
  struct sigaction sa;
  struct stat st3, st4;
  char c;
  pid_t pid;
  int i;

  // Only tug starts this mode, with two pipes: never write to anything else.
  if (fstat(3, &st3) < 0 || fstat(4, &st4) < 0 || !S_ISFIFO(st3.st_mode) || !S_ISFIFO(st4.st_mode))
    {
      fprintf(stderr, "Error: %s is set: this process is not a pause process started by tug\n", TUG_PAUSE_ENV);
      _exit(125);
    }

  // Named before the fork: the name is part of how callers know the pause,
  // so the pause must have it from its first instant.
  prctl(PR_SET_NAME, PAUSE_NAME, 0, 0, 0);
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
    {
      dprintf(3, "Eunshare: %s", strerror(errno));
      _exit(1);
    }
  if (write(3, "R", 1) != 1)
    _exit(1);
  if (read(4, &c, 1) != 1 || c != 'G')
    _exit(1);
  pid = fork();
  if (pid < 0)
    {
      dprintf(3, "Efork: %s", strerror(errno));
      _exit(1);
    }
  if (pid > 0)
    {
      dprintf(3, "P%d\n", (int) pid);
      _exit(0);
    }
  close(3);
  close(4);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  for (i = 0; ignored[i]; i++)
    sigaction(ignored[i], &sa, NULL);
  if (chdir("/") < 0)
    _exit(1);
  for (;;)
    pause();
}

static int is_test_binary(const char *argv0)
{
  size_t n = strlen(argv0);
  return n >= 5 && strcmp(argv0 + n - 5, ".test") == 0;
}

static void __attribute__((constructor)) tug_rootless_init(void)
{
  const char *required, *pause_env;
  char pidfile[PATH_MAX];
  char **argv;
  int argc;

  pause_env = getenv(TUG_PAUSE_ENV);
  if (pause_env && pause_env[0])
    run_pause();
  // Root, or already inside (storage's and libcontainer's re-executed
  // children, the monitor, tug run by `tug unshare`): nothing to join.
  if (geteuid() == 0 || getenv("_LIBCONTAINER_INITPIPE") != NULL)
    return;
  required = getenv(TUG_JOIN_ENV);
  if (required && required[0])
    {
      if (snprintf(pidfile, sizeof pidfile, "%s", required) < (int) sizeof pidfile)
        try_join(pidfile, 1);
      return;
    }
  argv = read_cmdline(&argc);
  if (argv == NULL)
    return;
  if (!is_test_binary(argv[0]) && tug_pidfile_from_args(argc, argv, pidfile, sizeof pidfile))
    try_join(pidfile, 0);
  free(argv[0]);
  free(argv);
}
