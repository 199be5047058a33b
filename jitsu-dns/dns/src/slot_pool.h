#pragma once
// Internal: a bounded pool of reusable slots for state that waits on something (gate
// waits, forwards). Capacity is fixed at construction; memory is reserved once and slots
// are recycled, so steady-state use does not allocate. A slot is named by its index and
// a generation, so a late callback for a recycled slot is recognised and ignored.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace jitsu::dns::detail {

struct slot_id {
    std::uint32_t index = 0;
    std::uint32_t generation = 0;
};

template <class T>
class slot_pool {
  public:
    explicit slot_pool(std::size_t capacity) : capacity_(capacity) {
        entries_.reserve(capacity);
        free_.reserve(capacity);
    }

    std::optional<slot_id> acquire() {
        std::uint32_t i = 0;
        if (!free_.empty()) {
            i = free_.back();
            free_.pop_back();
        } else if (entries_.size() < capacity_) {
            i = static_cast<std::uint32_t>(entries_.size());
            entries_.emplace_back();
        } else {
            return std::nullopt;
        }
        entries_[i].used = true;
        ++in_use_;
        return slot_id{i, entries_[i].generation};
    }

    bool valid(slot_id id) const {
        return id.index < entries_.size() && entries_[id.index].used &&
               entries_[id.index].generation == id.generation;
    }
    T& operator[](std::uint32_t index) { return entries_[index].value; }
    slot_id id_of(std::uint32_t index) const { return {index, entries_[index].generation}; }
    bool used(std::uint32_t index) const { return entries_[index].used; }

    void release(std::uint32_t index) {
        entry& e = entries_[index];
        if (!e.used) return;
        e.used = false;
        ++e.generation;
        free_.push_back(index);
        --in_use_;
    }

    std::size_t in_use() const { return in_use_; }
    std::size_t allocated() const { return entries_.size(); }

  private:
    struct entry {
        T value{};
        std::uint32_t generation = 0;
        bool used = false;
    };
    std::size_t capacity_;
    std::size_t in_use_ = 0;
    std::vector<entry> entries_;
    std::vector<std::uint32_t> free_;
};

}  // namespace jitsu::dns::detail
