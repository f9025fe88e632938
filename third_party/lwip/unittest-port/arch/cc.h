/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * arch/cc.h for lwIP's own unit tests (test/unit) on Linux. lwIP's reference port
 * (contrib/ports/unix) is not in Debian's source package, so the few definitions its tests need
 * from a port are here. Only the lwip_unittests program uses this file; tunstack's own port is
 * stack/port/arch/cc.h.
 */
#ifndef TUNSTACK_UNITTEST_CC_H
#define TUNSTACK_UNITTEST_CC_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

/* glibc has struct timeval and errno values; lwIP must not define its own. */
#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_ERRNO_INCLUDE <errno.h>

/* Test runs are reproducible: check forks each test from the same parent state. */
#define LWIP_RAND() ((u32_t)rand())

#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                                        \
  do {                                                                                 \
    printf("lwIP assertion \"%s\" failed at line %d in %s\n", x, __LINE__, __FILE__); \
    fflush(NULL);                                                                      \
    abort();                                                                           \
  } while (0)

#endif /* TUNSTACK_UNITTEST_CC_H */
