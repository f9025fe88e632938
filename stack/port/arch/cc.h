/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * arch/cc.h - compiler and platform definitions lwIP needs (lwip/arch.h includes this).
 * Linux with GCC or Clang; diagnostics and assertions go to tunstack's port (sys_arch.cpp).
 */
#ifndef TUNSTACK_ARCH_CC_H
#define TUNSTACK_ARCH_CC_H

#ifndef LITTLE_ENDIAN
#define LITTLE_ENDIAN 1234
#endif
#ifndef BIG_ENDIAN
#define BIG_ENDIAN 4321
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BYTE_ORDER LITTLE_ENDIAN
#else
#define BYTE_ORDER BIG_ENDIAN
#endif

#ifdef __cplusplus
extern "C" {
#endif
/* printf-style diagnostics from LWIP_DEBUGF; one call may be a partial line. */
void tunstack_port_diag(const char* format, ...) __attribute__((format(printf, 1, 2)));
/* An lwIP invariant does not hold: report it and abort (never continue on corrupt state). */
void tunstack_port_assert_failed(const char* message, const char* file, int line)
    __attribute__((noreturn));
#ifdef __cplusplus
}
#endif

#define LWIP_PLATFORM_DIAG(x) do { tunstack_port_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) tunstack_port_assert_failed((x), __FILE__, __LINE__)

#endif /* TUNSTACK_ARCH_CC_H */
