// Decodes and preprocesses samples on worker threads, handed out in order, so the model is what bounds speed.
// Workers stay at most a window ahead of the consumer (bounded memory). Exception-safe: a thread that cannot be
// started (too many threads, no memory for a stack) stops and joins the ones that did, then rethrows. Torch-free.
#pragma once

#include "harness/data/imagefolder.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace locbench::data {

template <typename T>
class OrderedLoader {
 public:
  OrderedLoader(const std::vector<Sample>& samples, int workers, std::function<T(const Sample&)> load)
      : samples_(samples), load_(std::move(load)), slots_(samples.size()) {
    const size_t n = std::clamp<size_t>(workers > 0 ? static_cast<size_t>(workers) : 1, 1, std::max<size_t>(1, samples.size()));
    try {
      for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
    } catch (...) {
      stop();  // joinable threads must not be destroyed: std::terminate
      throw;
    }
  }
  ~OrderedLoader() { stop(); }
  OrderedLoader(const OrderedLoader&) = delete;
  OrderedLoader& operator=(const OrderedLoader&) = delete;

  // The i-th loaded sample (waits for it); rethrows a worker's error.
  T get(size_t i) {
    std::unique_lock<std::mutex> lock(mutex_);
    consumed_ = i;
    cv_.notify_all();
    cv_.wait(lock, [&] { return slots_[i].ready; });
    if (slots_[i].error) std::rethrow_exception(slots_[i].error);
    return std::move(slots_[i].value);
  }
  size_t threads() const { return threads_.size(); }

 private:
  struct Slot {
    T value{};
    std::exception_ptr error;
    bool ready = false;
  };

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

  void work() {
    while (true) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || next_ >= samples_.size() || next_ < consumed_ + kWindow; });
        if (stop_ || next_ >= samples_.size()) return;
        i = next_++;
      }
      Slot slot;
      try {
        slot.value = load_(samples_[i]);
      } catch (...) {
        slot.error = std::current_exception();
      }
      slot.ready = true;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        slots_[i] = std::move(slot);
      }
      cv_.notify_all();
    }
  }

  static constexpr size_t kWindow = 256;
  const std::vector<Sample>& samples_;
  std::function<T(const Sample&)> load_;
  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t next_ = 0, consumed_ = 0;
  bool stop_ = false;
};

}  // namespace locbench::data
