/* The floor for reading a process table on Linux, for bench/watch-scan.js: list /proc and read each
 * process's stat (ppid, start time, RSS), nothing else; open, read, close, as ps and top do. Prints the
 * number of processes, then the CPU time per pass in ms (user + system). usage: stat-floor [passes] */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int passes = argc > 1 ? atoi(argv[1]) : 20;
  char path[64], buf[1024];
  long processes = 0, checksum = 0;
  for (int p = 0; p < passes; p++) {
    DIR *dir = opendir("/proc");
    if (!dir) return 1;
    struct dirent *e;
    processes = 0;
    while ((e = readdir(dir)) != NULL) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
      int fd = open(path, O_RDONLY);
      if (fd < 0) continue;
      ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (n <= 0) continue;
      buf[n] = 0;
      char *s = strrchr(buf, ')');
      if (!s) continue;
      /* after ") ": state ppid ... field 22 is starttime, 24 rss */
      long ppid = 0, start = 0, rss = 0;
      int field = 3;
      for (char *t = s + 2; *t && field <= 24; t++) {
        if (*t == ' ') {
          field++;
          if (field == 4) ppid = strtol(t + 1, NULL, 10);
          else if (field == 22) start = strtol(t + 1, NULL, 10);
          else if (field == 24) rss = strtol(t + 1, NULL, 10);
        }
      }
      checksum += ppid + start + rss;
      processes++;
    }
    closedir(dir);
  }
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  double ms = (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
  printf("%ld %.3f %ld\n", processes, ms / passes, checksum & 1);
  return 0;
}
