#ifndef TUG_JOIN_LINUX_H
#define TUG_JOIN_LINUX_H

#include <stddef.h>

// Environment variables of the protocol between Go and the constructor.
#define TUG_PAUSE_ENV "_TUG_PAUSE"       // run as the pause process
#define PAUSE_NAME "tug-pause"           // its process name (comm)
#define TUG_JOIN_ENV "_TUG_ROOTLESS_JOIN" // join the pause process of this pid file

extern int tug_joined;
extern unsigned int tug_joined_uid, tug_joined_gid;
extern int tug_joined_single;

const char *tug_joined_pidfile(void);
const char *tug_join_error(void);
const char *tug_value_flag(int i);
int tug_pidfile_from_args(int argc, char **argv, char *out, size_t len);

#endif
