systolic_mul2_ice40.v
systolic_pe.v
systolic_column.v
systolic_array.v
systolic_skew.v
systolic_deskew.v
systolic_psum.v
systolic_top.v
