// The init of `tug run --init` (see tuginit_linux.go): forked by the
// container's init process, in the constructor below, once runc's nsexec
// has made its namespaces (it is then PID 1 of the new PID namespace) and
// before the Go runtime starts. The child goes on as libcontainer's init;
// the parent stays PID 1 and only forwards signals and reaps.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tuginit_linux.h"

// runc's nsexec (libcontainer/nsenter): its stage, and the function itself.
// Weak, so that this package's objects link on their own (cgo checks that).
extern int current_stage __attribute__((weak));
extern void nsexec(void) __attribute__((weak));

#define STAGE_SETUP -1
#define STAGE_INIT 2

// wants_init reports whether this is the standard init of a container whose
// runtime state directory (where the exec fifo is) holds TUG_INIT_MARKER.
static int wants_init(void)
{
  const char *type = getenv("_LIBCONTAINER_INITTYPE");
  const char *fifofd = getenv("_LIBCONTAINER_FIFOFD");
  char link[64], path[PATH_MAX];
  ssize_t n;
  char *slash;

  if (type == NULL || strcmp(type, "standard") != 0 || fifofd == NULL || fifofd[0] == '\0'
      || strspn(fifofd, "0123456789") != strlen(fifofd) || strlen(fifofd) > 9)
    return 0;
  snprintf(link, sizeof link, "/proc/self/fd/%s", fifofd);
  n = readlink(link, path, sizeof path - 1);
  if (n <= 0)
    return 0;
  path[n] = '\0';
  slash = strrchr(path, '/');
  if (slash == NULL || (size_t) (slash - path) + 1 + sizeof TUG_INIT_MARKER > sizeof path)
    return 0;
  strcpy(slash + 1, TUG_INIT_MARKER);
  return access(path, F_OK) == 0;
}

// Environment changes made here must not reach Go's view of it, which Go
// reads from the process's initial environment array: adding a variable
// first makes the C library move its environment to a copy of its own.
static void unset_in_c_only(const char *name)
{
  setenv("_TUG_INIT_ENV_COPIED", "1", 1);
  unsetenv(name);
}

// drop_privileges leaves PID 1 nothing but CAP_KILL (to forward signals to
// a command that runs as another user), no way to gain more, and no way for
// the container's processes to ptrace it.
static void drop_privileges(void)
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  int cap;

  for (cap = 0; cap <= 63; cap++)
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
      prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = 1u << CAP_KILL;
  syscall(SYS_capset, &hdr, data);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

// name_pid1 makes PID 1 read as "tug-init" in the container's ps (its
// command line, in place, and its name).
static void name_pid1(int argc, char **argv)
{
  static const char name[] = "tug-init";
  char *start, *end;
  int i;

  prctl(PR_SET_NAME, (unsigned long) name, 0, 0, 0);
  if (argc < 1 || argv == NULL || argv[0] == NULL)
    return;
  start = argv[0];
  end = argv[argc - 1] + strlen(argv[argc - 1]);
  for (i = 0; i < argc; i++)
    if (argv[i] < start || argv[i] + strlen(argv[i]) > end)
      return;                   // not one contiguous area: leave it
  if ((size_t) (end - start) < sizeof name - 1)
    return;
  memset(start, 0, end - start);
  memcpy(start, name, sizeof name - 1);
}

// reap is PID 1's loop: every signal goes to the command, every child is
// reaped, and the command's end is the init's, with its code.
static void reap(pid_t child)
{
  sigset_t all;
  siginfo_t info;
  int sig, status;
  pid_t pid;

  sigfillset(&all);
  for (;;)
    {
      sig = sigwaitinfo(&all, &info);
      if (sig < 0)
        continue;
      if (sig != SIGCHLD)
        {
          kill(child, sig);
          continue;
        }
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        {
          if (pid != child)
            continue;
          if (WIFSIGNALED(status))
            _exit(128 + WTERMSIG(status));
          _exit(WEXITSTATUS(status));
        }
    }
}

static void become_init(int argc, char **argv)
{
  sigset_t all, old;
  pid_t child;
  int null;

  // Blocked before the fork, so that no signal finds PID 1 without a way
  // to take it; the child gets its mask back.
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  child = fork();
  if (child < 0)
    {
      fprintf(stderr, "tug-init: fork: %s\n", strerror(errno));
      _exit(255);
    }
  if (child == 0)
    {
      sigprocmask(SIG_SETMASK, &old, NULL);
      // The command's init needs a session of its own to own a terminal.
      setsid();
      return;
    }
  // PID 1 holds nothing of the setup: libcontainer's parent waits for its
  // pipes to close, and the container's output is the command's. Its
  // standard streams become /dev/null in place, never missing: the parent
  // reads them (/proc/PID/fd/0-2) while the init starts.
  null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0)
    {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
  if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
    for (int fd = 3; fd < 1024; fd++)
      close(fd);
  if (chdir("/") < 0)
    {
      // Nothing to do about it: the root moves with the container's anyway.
    }
  drop_privileges();
  name_pid1(argc, argv);
  reap(child);
}

static void __attribute__((constructor)) tug_init(int argc, char **argv, char **envp)
{
  (void) envp;
  if (getenv("_LIBCONTAINER_INITPIPE") == NULL || &current_stage == NULL || nsexec == NULL || !wants_init())
    return;
  if (current_stage == STAGE_SETUP)
    {
      // This constructor came before runc's: run nsexec now (it returns in
      // the container's first process only) and leave runc's nothing to do.
      nsexec();
      unset_in_c_only("_LIBCONTAINER_INITPIPE");
    }
  if (current_stage != STAGE_INIT)
    return;
  become_init(argc, argv);
}
