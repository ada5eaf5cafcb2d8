#ifndef TUG_IDLE_LINUX_H
#define TUG_IDLE_LINUX_H

#include <stddef.h>

// The argv[0]s of the lite monitor (see idle_linux.go). IDLE_NAME is the C
// event loop, run by the constructor before the Go runtime starts; the
// others are Go (pkg/monitor registers them with reexec).
#define IDLE_NAME "tug-monitor-idle"
#define FINISH_NAME "tug-monitor-finish"
#define HEALTH_NAME "tug-monitor-health"

// The container log in C, the same bytes as pkg/logs' fileWriter.
enum
{
  LOG_NONE,
  LOG_JSON,
  LOG_K8S
};

// maxLine is pkg/logs' maxLine: longer lines are cut into partial entries.
#define LOG_MAX_LINE (16 << 10)

// tug_log_entry formats one entry of line (n bytes) as pkg/logs does at
// time sec.nsec (UTC) into out, which holds at least tug_log_entry_max(n)
// bytes, and returns its length.
size_t tug_log_entry(int driver, const char *stream, const unsigned char *line, size_t n, int partial, long long sec, long nsec,
                     char *out);
size_t tug_log_entry_max(size_t n);

// tug_format_time writes sec.nsec as Go's time.RFC3339Nano in UTC (at
// most 36 bytes, no NUL) and returns its length.
size_t tug_format_time(long long sec, long nsec, char *out);

#endif
