"""Offline fitting of the dashboard's models (not part of the runtime package ``dashboard``).

Run from the repository root; reads the measurement files where they lie (``../shared/data/``
in this project's workspace) and writes only fitted parameters and their validation figures
into ``data/``. Plots need the optional ``calibration`` extra (matplotlib).

    python -m calibration internet PATH/TO/wonderproxy-2020-07-train.csv [--plots docs/img]
    python -m calibration backbone PATH/TO/azure-interregion-p50-2026-07.csv
    python -m calibration catchment PATH/TO/anycast-catchments-f-i-root-2015.csv \
        PATH/TO/anycast-sites-f-i-root-2015.csv [--dry-run | --variants]
    python -m calibration.catchment_explore PATH/TO/anycast-catchments-f-i-root-2015.csv \
        PATH/TO/anycast-sites-f-i-root-2015.csv      # exploratory variants, upper bounds
    python -m calibration access PATH/TO/anycast-catchments-f-i-root-2015.csv
    python -m calibration.access_explore PATH/TO/anycast-catchments-f-i-root-2015.csv \
        PATH/TO/anycast-sites-f-i-root-2015.csv      # end-user variants, detours, upper bounds
"""
