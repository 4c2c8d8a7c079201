// Strong typedefs, so an offset is never passed where a version is expected.
//
//   using Version = kam::base::Strong<uint64_t, struct VersionTag>;
//   Version v{3};  v.value() == 3;  Version{3} < Version{4};
#pragma once

#include <compare>
#include <cstdint>

namespace kam::base {

template <typename T, typename Tag>
class Strong {
 public:
  constexpr Strong() = default;
  constexpr explicit Strong(T value) : value_(value) {}
  constexpr T value() const { return value_; }
  constexpr auto operator<=>(const Strong&) const = default;

 private:
  T value_{};
};

// Per-aggregate event version: 1 for the first event, without gaps.
using Version = Strong<uint64_t, struct VersionTag>;
// A Kafka partition number and an offset within it.
using Partition = Strong<int32_t, struct PartitionTag>;
using Offset = Strong<int64_t, struct OffsetTag>;

}  // namespace kam::base
