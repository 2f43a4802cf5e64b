// The morphology vocabulary of the procedural galaxies, in the style of the
// Galaxy Zoo 2 decision tree: a galaxy is smooth, an edge-on disk, a disk
// seen at a lower inclination, or a merger, and each answers that branch's
// questions (shape, bulge, arms, winding, bar, ring, dust lane). Every
// procedural image carries its answers as tags, which become the caption
// a text-conditioned model is trained on.
//
// Tags (lower case, as they appear in captions):
//   smooth:         "smooth"; "round" | "in-between" | "cigar-shaped"
//   edge-on disk:   "edge-on disk"; "rounded bulge" | "boxy bulge" | "no bulge"
//   disk:           "disk"; "no bulge" | "just noticeable bulge" | "obvious bulge"
//                   | "dominant bulge"; "no spiral" | "spiral" with "1 arm" ..
//                   "4 arms" | "more than 4 arms" and "tightly wound" |
//                   "medium wound" | "loosely wound"; "bar"; "ring"
//   merger:         "merger"; "tidal tails"
//   smooth or edge-on: "dust lane"
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gml::diffusion {

enum class GalaxyClass { Smooth, EdgeOnDisk, Disk, Merger };
enum class SmoothShape { Round, InBetween, Cigar };
enum class EdgeOnBulge { Rounded, Boxy, None };
enum class BulgeProminence { None, JustNoticeable, Obvious, Dominant };
enum class Winding { Tight, Medium, Loose };

// One galaxy's answers. Fields outside its class's branch are ignored.
struct Morphology {
  GalaxyClass galaxy_class = GalaxyClass::Smooth;
  SmoothShape shape = SmoothShape::Round;            // smooth
  EdgeOnBulge edge_on_bulge = EdgeOnBulge::Rounded;  // edge-on disk
  BulgeProminence bulge = BulgeProminence::Obvious;  // disk
  int arms = 0;                                      // disk: 0 = no spiral, 5 = more than 4
  Winding winding = Winding::Medium;                 // disk with arms
  bool bar = false;                                  // disk
  bool ring = false;                                 // disk
  bool dust_lane = false;                            // smooth, edge-on disk
};

// The tags of a morphology, in decision-tree order.
std::vector<std::string> morphology_tags(const Morphology& m);

// "procedural, smooth, cigar-shaped": the source, then the tags.
std::string morphology_caption(const Morphology& m, const std::string& source = "procedural");

// Every tag the generator knows, in the order of the header comment.
const std::vector<std::string>& morphology_vocabulary();

// How often each answer is drawn where a request leaves it open. Class
// weights need not sum to one; probabilities are of the galaxies of that
// class. A dust lane on a smooth galaxy is GalaxySD's rare combination: set
// dust_lane_smooth to 0 to hold it out of a training set.
struct MorphologyMix {
  double smooth = 0.35, edge_on_disk = 0.15, disk = 0.40, merger = 0.10;
  double dust_lane_smooth = 0.05;
  double dust_lane_edge_on = 0.40;
  double spiral = 0.80;
  double bar = 0.35;
  double ring = 0.15;
};

// Answers fixed by a request; the rest are drawn from the mix. `classes`
// is the set of classes the request allows (bit 1 << GalaxyClass): "dust
// lane" alone allows smooth and edge-on galaxies.
struct MorphologyRequest {
  unsigned classes = 0xF;
  std::optional<bool> spiral;
  std::optional<SmoothShape> shape;
  std::optional<EdgeOnBulge> edge_on_bulge;
  std::optional<BulgeProminence> bulge;
  std::optional<int> arms;
  std::optional<Winding> winding;
  std::optional<bool> bar, ring, dust_lane;
};

// Reads comma-separated tags ("edge-on disk, boxy bulge, dust lane";
// case and surrounding blanks ignored, empty pieces and the source tags
// "procedural" and "sdss" skipped). Throws Error(InvalidArgument) for an
// unknown tag (naming the nearest known tags and listing the vocabulary)
// and for two tags that exclude each other (naming both).
MorphologyRequest parse_morphology_tags(const std::string& tags);

// Completes a request with draws from `mix`; `uniform` returns numbers in
// [0, 1). A class the request allows is drawn by the mix's weights, and
// evenly where the mix gives all allowed classes weight 0 (the request
// wins). Throws Error(InvalidArgument) for negative class weights or a
// probability outside [0, 1].
Morphology draw_morphology(const MorphologyRequest& request, const MorphologyMix& mix,
                           const std::function<double()>& uniform);

}  // namespace gml::diffusion
