// A model's parameter array: floats in 64-byte aligned memory the array owns, or a read-only view of
// memory it borrows (a memory-mapped model file), kept alive by a shared owner.
//
// Reading never copies. Any mutable access to a borrowed array (non-const data(), operator[], begin,
// assign, resize, push_back) first copies it into owned memory: copy on write. So serving from a mapped
// model touches only the mapping, and training or fold-in on it works on a private copy. Copies of a
// borrowed array share the borrow (and its owner) until one of them is written.
#pragma once
#include <cstddef>
#include <memory>
#include <utility>

#include "common.hpp"

namespace simdmf {

class ParamArray {
public:
    ParamArray() = default;
    explicit ParamArray(std::size_t n, float value = 0.0f) : own_(n, value) {}

    // A view of n floats at data (64-byte aligned for model tables), valid while owner lives.
    static ParamArray borrow(const float* data, std::size_t n, std::shared_ptr<const void> owner) {
        ParamArray a;
        a.ext_ = data;
        a.ext_n_ = n;
        a.owner_ = std::move(owner);
        return a;
    }

    bool borrowed() const noexcept { return ext_ != nullptr; }
    std::size_t size() const noexcept { return ext_ ? ext_n_ : own_.size(); }
    bool empty() const noexcept { return size() == 0; }

    const float* data() const noexcept { return ext_ ? ext_ : own_.data(); }
    const float* begin() const noexcept { return data(); }
    const float* end() const noexcept { return data() + size(); }
    float operator[](std::size_t i) const noexcept { return data()[i]; }

    float* data() { return owned().data(); }
    float* begin() { return owned().data(); }
    float* end() { return owned().data() + own_.size(); }
    float& operator[](std::size_t i) { return owned()[i]; }

    void assign(std::size_t n, float value) { drop_borrow(); own_.assign(n, value); }
    template <class It>
    void assign(It first, It last) {
        auto keep = std::move(owner_);  // [first, last) may lie in the borrowed memory
        drop_borrow();
        own_.assign(first, last);
    }
    void resize(std::size_t n, float value = 0.0f) { owned().resize(n, value); }
    void push_back(float value) { owned().push_back(value); }
    void clear() { drop_borrow(); own_.clear(); }

    // Copies a borrowed array into owned memory (no-op when owned). Throws std::bad_alloc.
    AlignedFloats& owned() {
        if (ext_) {
            AlignedFloats copy(ext_, ext_ + ext_n_);
            own_ = std::move(copy);
            drop_borrow();
        }
        return own_;
    }

    friend void swap(ParamArray& a, ParamArray& b) noexcept {
        using std::swap;
        swap(a.own_, b.own_);
        swap(a.ext_, b.ext_);
        swap(a.ext_n_, b.ext_n_);
        swap(a.owner_, b.owner_);
    }

private:
    void drop_borrow() noexcept {
        ext_ = nullptr;
        ext_n_ = 0;
        owner_.reset();
    }

    AlignedFloats own_;
    const float* ext_ = nullptr;
    std::size_t ext_n_ = 0;
    std::shared_ptr<const void> owner_;
};

}  // namespace simdmf
