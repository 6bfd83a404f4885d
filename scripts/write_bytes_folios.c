// How /proc/self/io's write_bytes counts random 4 KiB writes into a file
// written in large pieces, against what the device writes
// (docs/PERFORMANCE.md, "Where the HTTP path's time goes"):
//
//   cc -O2 -o /tmp/wbf scripts/write_bytes_folios.c
//   s0=$(awk '{print $7}' /sys/block/vda/stat); /tmp/wbf /tmp/wbf.dat
//   s1=$(awk '{print $7}' /sys/block/vda/stat); echo "device: $(( (s1 - s0) / 2 )) KiB"
//
// The device figure includes the 100 MiB the program writes first, and
// whatever else wrote to the disk meanwhile.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long WriteBytes(void) {
  FILE* f = fopen("/proc/self/io", "r");
  char line[256];
  long v = 0;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "write_bytes:", 12) == 0) v = atol(line + 12);
  }
  if (f != NULL) fclose(f);
  return v;
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "wbf.dat";
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    perror(path);
    return 2;
  }
  static char big[256 * 1024];
  memset(big, 1, sizeof big);
  for (long i = 0; i < 400; ++i) {  // 100 MiB in 256 KiB pieces
    if (pwrite(fd, big, sizeof big, i * (long)sizeof big) != (ssize_t)sizeof big) return 2;
  }
  fdatasync(fd);
  char page[4096];
  memset(page, 2, sizeof page);
  srand(2);
  const long before = WriteBytes();
  for (int i = 0; i < 1000; ++i) {
    if (pwrite(fd, page, sizeof page, (rand() % 25600) * 4096L) != (ssize_t)sizeof page) return 2;
  }
  fdatasync(fd);
  printf("1000 random 4 KiB writes (4000 KiB): write_bytes counted %ld KiB\n",
         (WriteBytes() - before) / 1024);
  close(fd);
  unlink(path);
  return 0;
}
