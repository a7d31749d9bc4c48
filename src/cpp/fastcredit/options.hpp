// Named hyper-parameters as they arrive from a caller (Python dict, config file, C++ code).
// Each component reads the keys it knows; defaults live next to the code that uses them.
#pragma once

#include <map>
#include <string>

#include "fastcredit/types.hpp"

namespace fastcredit {

struct Options {
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> strings;

  double number(const std::string& key, double fallback) const {
    auto it = numbers.find(key);
    return it == numbers.end() ? fallback : it->second;
  }
  long integer(const std::string& key, long fallback) const {
    return static_cast<long>(number(key, static_cast<double>(fallback)));
  }
  bool flag(const std::string& key, bool fallback) const {
    return number(key, fallback ? 1.0 : 0.0) != 0.0;
  }
  std::string string(const std::string& key, const std::string& fallback) const {
    auto it = strings.find(key);
    return it == strings.end() ? fallback : it->second;
  }
};

}  // namespace fastcredit
