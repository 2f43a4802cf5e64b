// The 14 camera directions of the DeepGalaxy image set: the six axis
// directions and the eight cube diagonals, each with a fixed image frame.
//
// A camera at unit direction d (pointing from the system towards the
// camera) looks back along -d. Its "up" vector is the world z axis
// projected onto the image plane, or the world y axis for the two cameras
// on the z axis (|d_z| > 0.9); right = up x d, so (right, up, d) is
// right-handed and an image shows the sky as the camera sees it. Cameras
// d and -d therefore see left-right mirror images of each other.
#pragma once

#include <cstdint>
#include <string>

#include "core/merger/sim/config.h"
#include "core/merger/sim/vec3.h"

namespace gml::merger {

struct Camera {
  Vec3 direction;  ///< unit vector from the system towards the camera
  Vec3 right;      ///< image +x (column index increases)
  Vec3 up;         ///< image +y (row index increases; row 0 is the bottom)
};

/// Camera `index` in 0..13: +x, -x, +y, -y, +z, -z, then the diagonals
/// (+,+,+), (+,+,-), (+,-,+), (+,-,-), (-,+,+), (-,+,-), (-,-,+), (-,-,-)
/// divided by sqrt(3). Throws Error(InvalidArgument) for other indices.
Camera camera(int32_t index);
/// "+x", "-z", "+x+y-z", ...
std::string camera_name(int32_t index);
/// The frame of a camera at an arbitrary unit direction (same rule).
Camera camera_for_direction(const Vec3& direction);

}  // namespace gml::merger
