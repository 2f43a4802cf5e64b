! A survey host in Fortran: mock stellar populations from a flow model.
!
!   gml_fortran_flow_survey MODEL.h5 [N_PER_GALAXY [SUMMARY.fits]]
!
! Places n_galaxies galaxies evenly inside the model's training range of
! conditions (log10 M*, star-formation times, metallicity), draws
! N_PER_GALAXY stars of each (default 2000) into one Fortran array
! stars(data_dim, n_galaxies * N_PER_GALAXY), and prints per galaxy the
! mean, standard deviation and 16th/50th/84th percentiles of every star
! column. With SUMMARY.fits it also writes those statistics as a FITS
! table, one row per galaxy.
program flow_survey
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit
  use galaxyml
  implicit none

  integer(c_int64_t), parameter :: n_galaxies = 5
  type(gml_context_t) :: ctx
  type(gml_model_t) :: flow
  type(gml_table_writer_t) :: table
  character(len=4096) :: arg
  character(len=:), allocatable :: model_path, summary_path, describe
  character(len=32), allocatable :: data_names(:)
  real(c_double), allocatable, target :: conditions(:, :), cond_min(:), cond_max(:), outside(:)
  real(c_float), allocatable, target :: stars(:, :)
  real(c_double), allocatable, target :: mean(:, :), std(:, :), p16(:, :), p50(:, :), p84(:, :)
  integer(c_int64_t), allocatable, target :: galaxy(:)
  integer(c_int64_t) :: data_dim, condition_dim, n_per_galaxy, g, first
  integer :: j

  if (command_argument_count() < 1) then
    write (error_unit, '(a)') 'usage: gml_fortran_flow_survey MODEL.h5 [N_PER_GALAXY [SUMMARY.fits]]'
    stop 2
  end if
  call get_command_argument(1, arg)
  model_path = trim(arg)
  n_per_galaxy = 2000
  if (command_argument_count() >= 2) then
    call get_command_argument(2, arg)
    read (arg, *) n_per_galaxy
  end if
  summary_path = ''
  if (command_argument_count() >= 3) then
    call get_command_argument(3, arg)
    summary_path = trim(arg)
  end if

  ! Every call below stops the program with the library's message on
  ! failure (no stat argument given).
  call ctx%create(device='cpu', seed=20240101_c_int64_t)
  call flow%load(ctx, model_path, family='flow')
  call flow%flow_dims(data_dim, condition_dim)
  describe = flow%flow_describe()
  cond_min = json_numbers(describe, 'condition_min')
  cond_max = json_numbers(describe, 'condition_max')
  data_names = json_strings(describe, 'data')
  if (size(cond_min) /= condition_dim .or. size(data_names) /= data_dim) &
    error stop 'model description disagrees with flow_dims'

  ! Galaxies at 1/6 .. 5/6 of the training range of every condition.
  allocate (conditions(condition_dim, n_galaxies), outside(n_galaxies))
  do g = 1, n_galaxies
    conditions(:, g) = cond_min + (cond_max - cond_min) * real(g, c_double) / real(n_galaxies + 1, c_double)
  end do

  ! C stars [n_galaxies * n_per_galaxy, data_dim] is this Fortran array.
  allocate (stars(data_dim, n_galaxies * n_per_galaxy))
  call flow%flow_sample(ctx, conditions, n_per_galaxy, stars, outside=outside)

  allocate (mean(data_dim, n_galaxies), std(data_dim, n_galaxies), p16(data_dim, n_galaxies), &
    p50(data_dim, n_galaxies), p84(data_dim, n_galaxies), galaxy(n_galaxies))
  do g = 1, n_galaxies
    galaxy(g) = g - 1
    first = (g - 1) * n_per_galaxy + 1
    do j = 1, int(data_dim)
      call column_statistics(real(stars(j, first:first + n_per_galaxy - 1), c_double), &
        mean(j, g), std(j, g), p16(j, g), p50(j, g), p84(j, g))
    end do
  end do

  write (*, '(a,a,a,i0,a,i0,a)') 'flow model ', model_path, ': ', n_galaxies, ' galaxies x ', &
    n_per_galaxy, ' stars'
  do g = 1, n_galaxies
    write (*, '(/,a,i0,a,*(f9.4,:,1x))') 'galaxy ', galaxy(g), ' conditions ', conditions(:, g)
    write (*, '(a12,5a12)') 'column', 'mean', 'std', 'p16', 'p50', 'p84'
    do j = 1, int(data_dim)
      write (*, '(a12,5es12.4)') trim(data_names(j)), mean(j, g), std(j, g), p16(j, g), p50(j, g), p84(j, g)
    end do
  end do

  if (len(summary_path) > 0) then
    call table%create(summary_path, extname='FLOWSUMMARY', input_file=model_path)
    call table%add_column('GALAXY', GML_COLUMN_INT64)
    call table%add_column('CONDITIONS', GML_COLUMN_FLOAT64, condition_dim)
    call table%add_column('OUTSIDE', GML_COLUMN_FLOAT64)
    call table%add_column('MEAN', GML_COLUMN_FLOAT64, data_dim)
    call table%add_column('STD', GML_COLUMN_FLOAT64, data_dim)
    call table%add_column('P16', GML_COLUMN_FLOAT64, data_dim)
    call table%add_column('P50', GML_COLUMN_FLOAT64, data_dim)
    call table%add_column('P84', GML_COLUMN_FLOAT64, data_dim)
    call table%set_keyword('NPERGAL', int_text(n_per_galaxy), 'stars drawn per galaxy')
    ! Each column buffer is (repeat, n_rows), the C [n_rows, repeat].
    call table%append(n_galaxies, [c_loc(galaxy), c_loc(conditions), c_loc(outside), c_loc(mean), &
      c_loc(std), c_loc(p16), c_loc(p50), c_loc(p84)])
    call table%commit()
    call table%free()
    write (*, '(/,a,a)') 'summary table written to ', summary_path
  end if

  call flow%free()
  call ctx%free()

contains

  subroutine column_statistics(v, mean, std, p16, p50, p84)
    real(c_double), intent(in) :: v(:)
    real(c_double), intent(out) :: mean, std, p16, p50, p84
    real(c_double), allocatable :: s(:)
    mean = sum(v) / size(v)
    std = sqrt(sum((v - mean)**2) / max(size(v) - 1, 1))
    allocate (s, source=v)
    call sort(s)
    p16 = quantile(s, 0.16_c_double)
    p50 = quantile(s, 0.50_c_double)
    p84 = quantile(s, 0.84_c_double)
  end subroutine column_statistics

  ! Linear interpolation between order statistics (numpy's default).
  function quantile(sorted, q) result(v)
    real(c_double), intent(in) :: sorted(:), q
    real(c_double) :: v, h
    integer :: lo
    h = q * (size(sorted) - 1)
    lo = int(h) + 1
    if (lo >= size(sorted)) then
      v = sorted(size(sorted))
    else
      v = sorted(lo) + (h - (lo - 1)) * (sorted(lo + 1) - sorted(lo))
    end if
  end function quantile

  ! Heapsort: in place, no recursion, n log n for any sample size.
  subroutine sort(a)
    real(c_double), intent(inout) :: a(:)
    integer :: n, i, last
    real(c_double) :: t
    n = size(a)
    do i = n / 2, 1, -1
      call sift(a, i, n)
    end do
    do last = n, 2, -1
      t = a(1)
      a(1) = a(last)
      a(last) = t
      call sift(a, 1, last - 1)
    end do
  end subroutine sort

  subroutine sift(a, start, n)
    real(c_double), intent(inout) :: a(:)
    integer, intent(in) :: start, n
    integer :: root, child
    real(c_double) :: t
    root = start
    do while (2 * root <= n)
      child = 2 * root
      if (child < n) then
        if (a(child) < a(child + 1)) child = child + 1
      end if
      if (a(root) >= a(child)) return
      t = a(root)
      a(root) = a(child)
      a(child) = t
      root = child
    end do
  end subroutine sift

  function int_text(i) result(s)
    integer(c_int64_t), intent(in) :: i
    character(len=:), allocatable :: s
    character(len=24) :: buf
    write (buf, '(i0)') i
    s = trim(buf)
  end function int_text

  ! The numbers of a flat JSON array "key":[a,b,...] of the description.
  function json_numbers(json, key) result(values)
    character(len=*), intent(in) :: json, key
    real(c_double), allocatable :: values(:)
    character(len=:), allocatable :: list
    list = json_list(json, key)
    allocate (values(count_items(list)))
    if (size(values) > 0) read (list, *) values
  end function json_numbers

  ! The strings of a flat JSON array of strings without escapes.
  function json_strings(json, key) result(values)
    character(len=*), intent(in) :: json, key
    character(len=32), allocatable :: values(:)
    character(len=:), allocatable :: list
    integer :: i, at, q1, q2
    list = json_list(json, key)
    allocate (values(count_items(list)))
    at = 1
    do i = 1, size(values)
      q1 = at + index(list(at:), '"') - 1
      q2 = q1 + index(list(q1 + 1:), '"')
      values(i) = list(q1 + 1:q2 - 1)
      at = q2 + 1
    end do
  end function json_strings

  ! The text between the brackets of "key":[...]; a bracket inside a
  ! string ("[Fe/H]") does not end it.
  function json_list(json, key) result(list)
    character(len=*), intent(in) :: json, key
    character(len=:), allocatable :: list
    integer :: at, open, close
    logical :: quoted
    at = index(json, '"' // key // '":')
    if (at == 0) error stop 'model description has no ' // key
    open = at + index(json(at:), '[') - 1
    quoted = .false.
    do close = open + 1, len(json)
      if (json(close:close) == '"') quoted = .not. quoted
      if (json(close:close) == ']' .and. .not. quoted) exit
    end do
    list = json(open + 1:close - 1)
  end function json_list

  ! Items of a flat JSON list: commas outside strings, plus one.
  integer function count_items(list)
    character(len=*), intent(in) :: list
    integer :: i
    logical :: quoted
    count_items = 0
    if (len_trim(list) == 0) return
    count_items = 1
    quoted = .false.
    do i = 1, len(list)
      if (list(i:i) == '"') quoted = .not. quoted
      if (list(i:i) == ',' .and. .not. quoted) count_items = count_items + 1
    end do
  end function count_items

end program flow_survey
