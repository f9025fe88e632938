/*
 * tunstack_hooks.h - lwIP hooks (LWIP_HOOK_FILENAME); included by lwIP's C files after their
 * own headers, so lwIP's types are known here.
 */
#ifndef TUNSTACK_HOOKS_H
#define TUNSTACK_HOOKS_H

#ifdef __cplusplus
extern "C" {
#endif
/* Initial sequence numbers per RFC 6528: a clock plus a keyed function of the connection's
 * addresses and ports, so they cannot be predicted from outside (lwIP's default is a counter). */
u32_t tunstack_port_tcp_isn(const ip_addr_t* local_ip, u16_t local_port,
                            const ip_addr_t* remote_ip, u16_t remote_port);
#ifdef __cplusplus
}
#endif

#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
  tunstack_port_tcp_isn((local_ip), (local_port), (remote_ip), (remote_port))

#endif /* TUNSTACK_HOOKS_H */
