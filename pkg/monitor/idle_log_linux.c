// Log entries of the idle loop, byte for byte what pkg/logs writes: a
// json-file line as Go's encoding/json encodes it (SetEscapeHTML(false)),
// a k8s-file line, time stamps in time.RFC3339Nano. Tests compare both
// (idle_test.go).
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "idle_linux.h"

size_t tug_format_time(long long sec, long nsec, char *out)
{
  struct tm tm;
  time_t t = (time_t) sec;
  char frac[24];
  size_t n;
  int i;

  gmtime_r(&t, &tm);
  n = (size_t) sprintf(out, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                       tm.tm_sec);
  // ".999999999": trailing zeros dropped, nothing at all for zero.
  if (nsec > 0)
    {
      snprintf(frac, sizeof frac, ".%09ld", nsec % 1000000000);
      for (i = 9; frac[i] == '0'; i--)
        frac[i] = 0;
      memcpy(out + n, frac, strlen(frac));
      n += strlen(frac);
    }
  out[n++] = 'Z';
  return n;
}

// utf8_len is the length of the valid UTF-8 sequence at p (n bytes left),
// or 0 when Go's utf8.DecodeRune would return (RuneError, 1) there.
static size_t utf8_len(const unsigned char *p, size_t n)
{
  unsigned char lo = 0x80, hi = 0xBF;
  size_t size, i;

  if (p[0] >= 0xC2 && p[0] <= 0xDF)
    size = 2;
  else if (p[0] >= 0xE0 && p[0] <= 0xEF)
    {
      size = 3;
      if (p[0] == 0xE0)
        lo = 0xA0; // overlong
      else if (p[0] == 0xED)
        hi = 0x9F; // surrogates
    }
  else if (p[0] >= 0xF0 && p[0] <= 0xF4)
    {
      size = 4;
      if (p[0] == 0xF0)
        lo = 0x90; // overlong
      else if (p[0] == 0xF4)
        hi = 0x8F; // above U+10FFFF
    }
  else
    return 0;
  if (n < size || p[1] < lo || p[1] > hi)
    return 0;
  for (i = 2; i < size; i++)
    if (p[i] < 0x80 || p[i] > 0xBF)
      return 0;
  return size;
}

// json_string appends src as a JSON string the way encoding/json does.
static size_t json_string(const unsigned char *src, size_t n, char *out)
{
  static const char hex[] = "0123456789abcdef";
  size_t i = 0, o = 0, size;
  unsigned char b;

  out[o++] = '"';
  while (i < n)
    {
      b = src[i];
      if (b < 0x80)
        {
          i++;
          if (b >= 0x20 && b != '"' && b != '\\')
            {
              out[o++] = (char) b;
              continue;
            }
          out[o++] = '\\';
          switch (b)
            {
            case '"':
            case '\\':
              out[o++] = (char) b;
              break;
            case '\b':
              out[o++] = 'b';
              break;
            case '\f':
              out[o++] = 'f';
              break;
            case '\n':
              out[o++] = 'n';
              break;
            case '\r':
              out[o++] = 'r';
              break;
            case '\t':
              out[o++] = 't';
              break;
            default:
              memcpy(out + o, "u00", 3);
              o += 3;
              out[o++] = hex[b >> 4];
              out[o++] = hex[b & 0xF];
            }
          continue;
        }
      size = utf8_len(src + i, n - i);
      if (size == 0)
        {
          memcpy(out + o, "\\ufffd", 6);
          o += 6;
          i++;
          continue;
        }
      // U+2028 and U+2029 (E2 80 A8, E2 80 A9) are always escaped.
      if (size == 3 && b == 0xE2 && src[i + 1] == 0x80 && (src[i + 2] == 0xA8 || src[i + 2] == 0xA9))
        {
          memcpy(out + o, src[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
          o += 6;
          i += 3;
          continue;
        }
      memcpy(out + o, src + i, size);
      o += size;
      i += size;
    }
  out[o++] = '"';
  return o;
}

size_t tug_log_entry_max(size_t n) { return 6 * n + 128; }

size_t tug_log_entry(int driver, const char *stream, const unsigned char *line, size_t n, int partial, long long sec, long nsec,
                     char *out)
{
  size_t o = 0;

  if (driver == LOG_K8S)
    {
      o = tug_format_time(sec, nsec, out);
      o += (size_t) sprintf(out + o, " %s %s ", stream, partial ? "P" : "F");
      if (n > 0 && line[n - 1] == '\n')
        n--;
      memcpy(out + o, line, n);
      o += n;
      out[o++] = '\n';
      return o;
    }
  memcpy(out, "{\"log\":", 7);
  o = 7;
  o += json_string(line, n, out + o);
  o += (size_t) sprintf(out + o, ",\"stream\":\"%s\",\"time\":\"", stream);
  o += tug_format_time(sec, nsec, out + o);
  memcpy(out + o, "\"}\n", 3);
  return o + 3;
}
