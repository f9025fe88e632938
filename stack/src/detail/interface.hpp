// SPDX-License-Identifier: BSD-3-Clause
// detail/interface.hpp - what stack_impl needs from one attached link. The implementation,
// the one place where a link meets lwIP's struct netif, is netif_adapter.cpp.
#ifndef TUNSTACK_DETAIL_INTERFACE_HPP
#define TUNSTACK_DETAIL_INTERFACE_HPP

#include "tunstack/stack.hpp"
#include "tunstack/stats.hpp"

#include <memory>

namespace tunstack::detail {

class stack_impl;

class interface {
 public:
  /// Adds the lwIP netif for @p link and starts reading from it.
  static std::shared_ptr<interface> create(stack_impl& stack, netif::link& link,
                                           const interface_config& config);
  virtual ~interface() = default;
  /// Stops reading, and removes the netif from lwIP. Idempotent.
  virtual void stop() noexcept = 0;
  virtual interface_stats stats() const = 0;
};

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_INTERFACE_HPP
