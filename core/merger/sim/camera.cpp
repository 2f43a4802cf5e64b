// Camera directions and their image frames (conventions in camera.h).
#include "core/merger/sim/camera.h"

#include <cmath>

#include "core/common/error.h"

namespace gml::merger {
namespace {

// Sign triples; axis cameras have two zero components.
constexpr int kDirections[kMaxCameras][3] = {
    {1, 0, 0},  {-1, 0, 0}, {0, 1, 0},   {0, -1, 0}, {0, 0, 1},   {0, 0, -1},  {1, 1, 1},
    {1, 1, -1}, {1, -1, 1}, {1, -1, -1}, {-1, 1, 1}, {-1, 1, -1}, {-1, -1, 1}, {-1, -1, -1},
};

void check_index(int32_t index) {
  require(index >= 0 && index < kMaxCameras, "camera index must be in [0, " +
                                                 std::to_string(kMaxCameras - 1) + "], got " +
                                                 std::to_string(index));
}

}  // namespace

Camera camera_for_direction(const Vec3& direction) {
  Camera c;
  c.direction = normalized(direction);
  const Vec3 ref = std::fabs(c.direction.z) > 0.9 ? Vec3{0.0, 1.0, 0.0} : Vec3{0.0, 0.0, 1.0};
  c.up = normalized(ref - c.direction * dot(ref, c.direction));
  c.right = cross(c.up, c.direction);
  return c;
}

Camera camera(int32_t index) {
  check_index(index);
  const int* s = kDirections[index];
  return camera_for_direction(
      {static_cast<double>(s[0]), static_cast<double>(s[1]), static_cast<double>(s[2])});
}

std::string camera_name(int32_t index) {
  check_index(index);
  const int* s = kDirections[index];
  std::string name;
  const char axes[3] = {'x', 'y', 'z'};
  for (int k = 0; k < 3; ++k) {
    if (s[k] == 0) continue;
    name += s[k] > 0 ? '+' : '-';
    name += axes[k];
  }
  return name;
}

}  // namespace gml::merger
