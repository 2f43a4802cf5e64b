#include "capi/src/options.h"

#include <sstream>

namespace gml::capi::detail {

void check_struct_size(uint32_t struct_size, size_t first_size, size_t library_size,
                       const char* name, const char* arg, StructKind kind) {
  const std::string fill =
      kind == StructKind::Options ? std::string("; fill it with ") + name + "_default()"
      : kind == StructKind::Result
          ? std::string("; set it to sizeof(") + name + ")"
          : std::string("; zero it and set struct_size = sizeof(") + name + ")";
  if (struct_size < first_size) {
    fail(Status::InvalidArgument,
         std::string(arg) + "->struct_size is " + std::to_string(struct_size) + ", below the " +
             std::to_string(first_size) + " bytes of any published " + name + fill);
  }
  if (struct_size > kMaxStructSize) {
    fail(Status::InvalidArgument, std::string(arg) + "->struct_size is " +
                                      std::to_string(struct_size) + ", not the size of a " + name +
                                      " (this library's is " + std::to_string(library_size) + ")" +
                                      fill);
  }
}

void check_zero_tail(const void* caller, uint32_t struct_size, size_t library_size,
                     const char* name, const char* arg) {
  const auto* bytes = static_cast<const unsigned char*>(caller);
  for (size_t i = library_size; i < struct_size; ++i) {
    if (bytes[i] != 0) {
      fail(Status::InvalidArgument,
           std::string(arg) + " sets a field at byte " + std::to_string(i) +
               " that this library's " + name + " (" + std::to_string(library_size) +
               " bytes) does not have: the caller was built against a newer galaxyml.h "
               "than the library it runs with");
    }
  }
}

}  // namespace gml::capi::detail

namespace gml::capi {

std::vector<std::string> list_option(const char* text) {
  std::vector<std::string> out;
  if (!text || !*text) return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

}  // namespace gml::capi
