#!/usr/bin/env bash
# Command-line tests of the xskan tool, one case per ctest entry:
#   cli_test.sh CASE XSKAN CHECK GOLDEN_DIR SHARED_DIR WORK_DIR
# XSKAN is the built tool, CHECK the xskan_cli_check helper (tests/cli/check.cpp).
# Each case runs the tool on small inputs and compares with ../shared/golden.
set -euo pipefail
case_name=$1
XSKAN=$2
CHECK=$3
G=$4
S=$5
W=$6/$case_name
rm -rf "$W"
mkdir -p "$W"
cd "$W"

need() { for f in "$@"; do [ -e "$f" ] || { echo "SKIP: missing $f"; exit 0; }; done; }
die() { echo "FAILED: $*" >&2; exit 1; }
# run a command that must fail (non-zero exit) and whose stderr must contain a text
must_fail() {
  local expect=$1; shift
  set +e
  "$@" 2> err.txt
  local rc=$?
  set -e
  [ $rc -ne 0 ] || die "expected failure: $*"
  grep -qF -- "$expect" err.txt || { cat err.txt >&2; die "stderr lacks '$expect': $*"; }
}

case $case_name in
threshold_sauvola)
  need "$S/data/inf1.tif" "$G/C_threshold/inf1_full_sauvola_w101_k0.2_mask.npy"
  "$XSKAN" threshold "$S/data/inf1.tif" -o mask.npy --window 101 --k 0.2 --threads 2
  "$CHECK" npy mask.npy "$G/C_threshold/inf1_full_sauvola_w101_k0.2_mask.npy"
  # --radius 50 is the same window; the threshold image matches scikit-image bit for bit on a crop
  "$XSKAN" threshold "$G/C_threshold/retic_crop_u8.npy" -o m2.npy --radius 7 --save-threshold t.npy
  "$CHECK" npy t.npy "$G/C_threshold/retic_crop_sauvola_w15_k0.2.npy"
  "$XSKAN" threshold "$G/C_threshold/retic_crop_u8.npy" -o m3.npy --window 15 --r 64 --save-threshold t3.npy
  "$CHECK" npy t3.npy "$G/C_threshold/retic_crop_sauvola_w15_k0.2_r64.0.npy"
  "$XSKAN" threshold "$G/C_threshold/retic_crop_u8.npy" -o m4.npy --method niblack --window 41 --k 0.5 --save-threshold t4.npy
  "$CHECK" npy t4.npy "$G/C_threshold/retic_crop_niblack_w41_k0.5.npy"
  ;;
threshold_skan_recipe)
  # skan's getting-started recipe: pre.threshold(fei image, sigma=5/spacing_nm, radius=ceil(50/spacing_nm)), offset 0
  need "$S/data/inf1.tif" "$G/E_skeletonize/inf1_gs_mask.npy"
  "$XSKAN" threshold "$S/data/inf1.tif" --fei --sigma 4.633190322192055 --radius 47 --offset 0 -o mask.npy
  "$CHECK" npy mask.npy "$G/E_skeletonize/inf1_gs_mask.npy"
  ;;
threshold_otsu)
  need "$S/data/inf1.tif" "$S/data/retic.tif"
  "$XSKAN" threshold "$S/data/inf1.tif" --method otsu -o m.npy --save-threshold t.npy
  "$CHECK" scalar t.npy 84
  "$XSKAN" threshold "$S/data/retic.tif" --fei --method otsu -o m.npy --save-threshold t.npy
  "$CHECK" scalar t.npy 157
  # after smoothing: gaussian agrees with scikit-image to ~1 ulp (libm exp), so Otsu's bin centre can move by an ulp
  "$XSKAN" threshold "$S/data/retic.tif" --sigma 2 --method otsu -o m.npy --save-threshold t.npy
  "$CHECK" scalar t.npy 0.57574388734078319 1e-14
  ;;
skeletonize)
  need "$G/E_skeletonize/inf1_gs_mask.npy" "$G/E_skeletonize/retic_gs_mask_crop.npy"
  "$XSKAN" skeletonize "$G/E_skeletonize/inf1_gs_mask.npy" -o skel.npy
  "$CHECK" npy skel.npy "$G/E_skeletonize/inf1_gs_skeleton.npy"
  "$XSKAN" skeletonize "$G/E_skeletonize/retic_gs_mask_crop.npy" --method lee -o lee.npy
  "$CHECK" npy lee.npy "$G/E_skeletonize/retic_gs_mask_crop_lee.npy" --nonzero
  "$XSKAN" skeletonize "$G/E_skeletonize/tubes64_volume.npy" --method lee -o lee3d.npy
  "$CHECK" npy lee3d.npy "$G/E_skeletonize/tubes64_skeleton3d.npy" --nonzero
  must_fail "2" "$XSKAN" skeletonize "$G/E_skeletonize/tubes64_volume.npy" -o z.npy
  ;;
summarize)
  F=$G/F_skan
  need "$F/fx_skeleton2/input.npy" "$F/skeletontif/skeleton.npy"
  "$XSKAN" summarize "$F/fx_skeleton2/input.npy" -o a.csv
  "$CHECK" csv a.csv "$F/fx_skeleton2/summary.csv"
  "$XSKAN" summarize "$F/fx_skeleton2/input.npy" --spacing 1.5,0.5 -o b.csv
  "$CHECK" csv b.csv "$F/fx_skeleton2_sp1.5_0.5/summary.csv"
  "$XSKAN" summarize "$F/fx_skeleton0/input.npy" --spacing 2 -o c.csv
  "$CHECK" csv c.csv "$F/fx_skeleton0_sp2/summary.csv"
  "$XSKAN" summarize "$F/skeleton1_heights_sp1_2/input.npy" --spacing 1,2 --value-is-height -o d.csv
  # stdev of float heights: last-bit difference in the core's summation order (reported to the lead)
  "$CHECK" csv d.csv "$F/skeleton1_heights_sp1_2/summary.csv" --rtol stdev_pixel_value=1e-14
  "$XSKAN" summarize "$F/fx_skeleton2/input.npy" --main-branch -o e.csv
  "$CHECK" csv e.csv "$F/fx_skeleton2_main/summary.csv"
  # skan's Skeleton(skeleton * image): values from the raw TIFF
  "$XSKAN" summarize "$F/skeletontif/skeleton.npy" --values "$S/data/skeleton.tif" -o f.csv
  "$CHECK" csv f.csv "$F/skeletontif_x_image/summary.csv"
  # 3D, MST tie-sensitive: the stable tie rule
  "$XSKAN" summarize "$G/E_skeletonize/tubes64_skeleton3d.npy" --spacing 2,1,0.5 -o g.csv
  "$CHECK" csv g.csv "$F/tubes64_3d_sp2_1_0.5/stable_mst/summary.csv"
  "$XSKAN" summarize "$F/fx_skeleton2/input.npy" --separator - -o h.csv
  # no early-exiting readers in pipes: with pipefail a SIGPIPE'd writer fails the test at random
  sed -n 1p h.csv | grep "image-coord-src-0" > /dev/null || die "separator not applied"
  must_fail "--spacing" "$XSKAN" summarize "$F/fx_skeleton2/input.npy" --spacing 1,0 -o x.csv
  must_fail "spacing" "$XSKAN" summarize "$F/fx_skeleton2/input.npy" --spacing 1,2,3 -o x.csv
  must_fail "shape" "$XSKAN" summarize "$F/fx_skeleton2/input.npy" --values "$F/fx_skeleton0/input.npy" -o x.csv
  [ ! -e x.csv ] || die "a failed summarize left an output file"
  ;;
sholl)
  F=$G/F_skan
  need "$F/fx_skeleton0/input.npy" "$F/skeletontif/skeleton.npy"
  "$XSKAN" sholl "$F/fx_skeleton0/input.npy" --radii 0,1.5,3,4.5 -o a.csv --center-output ac.csv
  "$CHECK" csv a.csv "$F/sholl_skeleton0/sholl.csv"
  "$CHECK" csv ac.csv "$F/sholl_skeleton0/sholl_center.csv"
  "$XSKAN" sholl "$F/fx_skeleton0/input.npy" --spacing 1,5 --center 3,15 --radii 1,7,13,19 -o b.csv --center-output bc.csv
  "$CHECK" csv b.csv "$F/sholl_skeleton0_sp1_5/sholl.csv"
  "$CHECK" csv bc.csv "$F/sholl_skeleton0_sp1_5/sholl_center.csv"
  "$XSKAN" sholl "$F/skeletontif/skeleton.npy" -o c.csv --center-output cc.csv
  "$CHECK" csv c.csv "$F/sholl_skeletontif/sholl.csv"
  "$CHECK" csv cc.csv "$F/sholl_skeletontif/sholl_center.csv"
  "$XSKAN" sholl "$G/E_skeletonize/tubes64_skeleton3d.npy" --shells 8 -o d.csv --center-output dc.csv
  "$CHECK" csv d.csv "$F/sholl_tubes64_3d/sholl.csv"
  "$CHECK" csv dc.csv "$F/sholl_tubes64_3d/sholl_center.csv"
  must_fail "--center" "$XSKAN" sholl "$F/fx_skeleton0/input.npy" --center 1,2,3 -o x.csv
  ;;
graph)
  F=$G/F_skan
  need "$F/fx_skeleton2/input.npy"
  "$XSKAN" graph "$F/fx_skeleton2/input.npy" -o g.graphml
  "$XSKAN" graph "$F/fx_skeleton2/input.npy" -o g.json
  "$XSKAN" summarize "$F/fx_skeleton2/input.npy" -o s.csv
  # one edge per branch, one node per distinct branch end
  n_rows=$(($(wc -l < s.csv) - 1))
  n_ends=$(tail -n +2 s.csv | awk -F, '{print $2; print $3}' | sort -u | wc -l)
  [ "$(grep -c '<edge ' g.graphml)" -eq "$n_rows" ] || die "graphml edges != branches ($n_rows)"
  [ "$(grep -c '<node ' g.graphml)" -eq "$n_ends" ] || die "graphml nodes != branch ends ($n_ends)"
  grep -q '<graphml' g.graphml || die "not GraphML"
  [ "$(head -c 1 g.json)" = "{" ] || die "not a JSON object"
  must_fail "format" "$XSKAN" graph "$F/fx_skeleton2/input.npy" -o g.txt
  ;;
analyze_inf1)
  # skan.pipe.process_images on inf1.tif with the documented parameters (the defaults for FEI images)
  need "$S/data/inf1.tif" "$G/G_pipeline/inf1/stable_mst/summary_weighted.csv"
  (cd "$S/data" && "$XSKAN" analyze inf1.tif -o "$W/out" --timings)
  P=$G/G_pipeline/inf1
  # shape_index agrees with scikit-image to ~1e-12 (libm vs numpy SIMD exp/arctan), and numpy's log2
  # (squiggle) may differ from libm's by an ulp, hence the tolerances on those columns only
  "$CHECK" csv out/inf1_branches.csv "$P/stable_mst/summary_weighted.csv" --rtol mean_shape_index=1e-9 --rtol stdev_pixel_value=1e-9 --rtol squiggle=1e-15
  "$CHECK" csv out/branches.csv "$P/stable_mst/summary_weighted.csv" --rtol mean_shape_index=1e-9 --rtol stdev_pixel_value=1e-9 --rtol squiggle=1e-15
  "$CHECK" csv out/image_stats.csv "$P/stable_mst/image_stats.csv"
  "$CHECK" overlay out/inf1_overlay.png "$P/skeleton_binary.npy" "$S/data/inf1.tif" 20
  # explicit parameters give the same result
  (cd "$S/data" && "$XSKAN" analyze inf1.tif -o "$W/out2" --scale-from-metadata --threshold-radius 5e-8 \
     --smooth-radius 0.1 --brightness-offset 0.075 --crop-radius 20 --no-overlay -q)
  cmp out/inf1_branches.csv out2/inf1_branches.csv || die "explicit defaults differ"
  [ ! -e out2/inf1_overlay.png ] || die "--no-overlay wrote a PNG"
  ;;
analyze_batch)
  need "$S/data/inf1.tif" "$S/data/skeleton.tif"
  printf 'II*\0this is not a TIFF file' > corrupt.tif
  cp "$S/data/inf1.tif" inf1.tif
  head -c 100000 "$S/data/inf1.tif" > truncated.tif
  set +e
  "$XSKAN" analyze corrupt.tif inf1.tif missing.png truncated.tif "$S/data/skeleton.tif" -o out --threads 2 2> err.txt
  rc=$?
  set -e
  cat err.txt
  [ $rc -ne 0 ] || die "exit code 0 although 3 inputs are bad"
  grep -q "corrupt.tif" err.txt || die "corrupt.tif not reported"
  grep -q "missing.png" err.txt || die "missing.png not reported"
  grep -q "truncated.tif" err.txt || die "truncated.tif not reported"
  grep -q "3 of 5 image(s) failed" err.txt || die "summary line missing"
  [ -s out/inf1_branches.csv ] && [ -s out/inf1_overlay.png ] || die "inf1 outputs missing"
  [ -s out/skeleton_branches.csv ] && [ -s out/skeleton_overlay.png ] || die "skeleton.tif outputs missing"
  ls out | grep -E "corrupt|missing|truncated|\.tmp" && die "partial output files left"
  # combined tables: the two good images, in input order
  [ "$(($(wc -l < out/image_stats.csv) - 1))" -eq 2 ] || die "image_stats.csv should have 2 rows"
  n_expect=$(( $(wc -l < out/inf1_branches.csv) + $(wc -l < out/skeleton_branches.csv) - 2 ))
  [ "$(($(wc -l < out/branches.csv) - 1))" -eq $n_expect ] || die "branches.csv row count"
  # the non-FEI image has no scale: pixel units, 47-pixel radius
  awk -F, 'NR == 2 && $18 != 1 { bad = 1 } END { exit (bad || NR < 2) }' out/skeleton_branches.csv || die "scale of a non-FEI image should be 1"
  # branches.csv (written while the batch runs) is exactly the per-image files in input order
  cp out/inf1_branches.csv expect.csv
  tail -n +2 out/skeleton_branches.csv >> expect.csv
  cmp expect.csv out/branches.csv || die "branches.csv is not the per-image tables in input order"
  # same bytes with one thread, and re-running into the used folder (outputs replaced, no temporary files)
  same_as_out() {
    for f in inf1_branches.csv inf1_overlay.png skeleton_branches.csv skeleton_overlay.png branches.csv; do
      cmp "out/$f" "$1/$f" || die "$f differs ($2)"
    done
  }
  "$XSKAN" analyze inf1.tif "$S/data/skeleton.tif" -o out1 --threads 1 -q
  same_as_out out1 "--threads 1 vs 2"
  "$XSKAN" analyze "$S/data/skeleton.tif" inf1.tif -o out1 --threads 2 -q  # other order first: files get replaced
  "$XSKAN" analyze inf1.tif "$S/data/skeleton.tif" -o out1 --threads 2 -q
  same_as_out out1 "after re-runs into the same folder"
  ls out1 > list.txt
  grep -E "\.tmp" list.txt && die "temporary files left after a re-run"
  must_fail "no FEI metadata" "$XSKAN" analyze "$S/data/skeleton.tif" -o out3 --scale-from-metadata
  must_fail "too small" "$XSKAN" analyze "$S/data/skeleton.tif" -o out4 --crop-radius 200
  ;;
fei_scale)
  need "$S/data/inf1.tif" "$S/data/retic.tif"
  # the FEI pixel size becomes the scale column (metadata Scan/PixelHeight = 1.07917e-009)
  "$XSKAN" analyze "$S/data/retic.tif" -o out --no-overlay -q
  awk -F, 'NR == 2 { print $1 }' out/image_stats.csv | grep -x "1.0791699999999999e-09" > /dev/null || die "scale not read from FEI metadata"
  # --scale overrides it
  "$XSKAN" analyze "$S/data/inf1.tif" -o out2 --no-overlay -q --scale 2e-9
  awk -F, 'NR == 2 { print $1 }' out2/image_stats.csv | grep -x "2.0000000000000001e-09" > /dev/null || die "--scale not applied"
  must_fail "Scan/Nope" "$XSKAN" analyze "$S/data/inf1.tif" -o out3 --scale-metadata-path Scan/Nope
  ;;
help_and_errors)
  for sub in threshold skeletonize summarize sholl graph analyze; do
    "$XSKAN" $sub --help > h.txt || die "$sub --help failed"
    grep -q "Usage" h.txt || die "$sub --help has no usage"
  done
  "$XSKAN" analyze --help > help.txt
  grep -q "threshold-radius" help.txt || die "analyze --help lacks --threshold-radius"
  grep -q "0.075" help.txt || die "analyze --help lacks the default brightness offset"
  must_fail "odd" "$XSKAN" threshold "$G/C_threshold/retic_crop_u8.npy" -o m.npy --window 14
  must_fail "allowed: .tif, .tiff, .png, .npy" "$XSKAN" threshold image.jpg -o m.npy
  must_fail "cannot open" "$XSKAN" threshold nothere.npy -o m.npy
  must_fail "sauvola" "$XSKAN" threshold "$G/C_threshold/retic_crop_u8.npy" -o m.npy --method bogus
  [ ! -e m.npy ] || die "failed threshold left m.npy"
  ;;
*)
  die "unknown case $case_name"
  ;;
esac
echo "PASSED: $case_name"
