"""Writes the seed CSVs of the bike rental examples (examples/*/seeds/).

The data is invented: a small bike rental shop with stations in three cities, members on casual
or annual plans, app sessions and rentals, January to June 2025. Seeded, so every run writes the
same files. Run from the repository root: python3 examples/generate_bike_data.py
"""

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

EXAMPLES = ["bike_rental_legacy", "bike_rental_latest"]
rng = random.Random(20250101)

stations = [
    (1, "Praca do Comercio", "Lisbon", date(2023, 3, 1)),
    (2, "Cais do Sodre", "Lisbon", date(2023, 3, 1)),
    (3, "Belem Tower", "Lisbon", date(2024, 5, 10)),
    (4, "Ribeira", "Porto", date(2023, 9, 15)),
    (5, "Boavista", "Porto", date(2024, 11, 2)),
    (6, "Marina de Faro", "Faro", date(2024, 6, 20)),
]

start = datetime(2025, 1, 1)
members = []
for member_id in range(101, 141):
    signed_up = start + timedelta(days=rng.randrange(0, 181))
    plan = "annual" if rng.random() < 0.4 else "casual"
    home = rng.choice(stations)[0]
    members.append((member_id, plan, home, signed_up.date()))

sessions = []
rentals = []
session_id = 5001
rental_id = 9001
for member_id, plan, home, signed_up in members:
    first = datetime.combine(signed_up, datetime.min.time())
    n_sessions = rng.randrange(2, 9)
    for _ in range(n_sessions):
        at = first + timedelta(days=rng.randrange(0, 60), minutes=rng.randrange(6 * 60, 22 * 60))
        if at >= datetime(2025, 7, 1):
            continue
        platform = rng.choice(["ios", "android", "web"])
        sessions.append((session_id, member_id, at, platform))
        session_id += 1
        # Most sessions lead to a rental within a few days; some never do.
        if rng.random() < 0.65:
            rented = at + timedelta(hours=rng.randrange(0, 24 * 9))
            if rented >= datetime(2025, 7, 1):
                continue
            start_station = home if rng.random() < 0.6 else rng.choice(stations)[0]
            end_station = rng.choice(stations)[0]
            electric = rng.random() < (0.5 if plan == "annual" else 0.3)
            minutes = rng.randrange(8, 95)
            rate = 0.15 if plan == "annual" else 0.25
            price = round(1.0 + minutes * rate * (1.5 if electric else 1.0), 2)
            rentals.append(
                (rental_id, member_id, rng.randrange(1, 31), start_station, end_station,
                 rented, minutes, price, electric)
            )
            rental_id += 1

sessions.sort(key=lambda r: (r[2], r[0]))
rentals.sort(key=lambda r: (r[5], r[0]))


def write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([
                v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime)
                else v.isoformat() if isinstance(v, date)
                else ("true" if v else "false") if isinstance(v, bool)
                else f"{v:.2f}" if isinstance(v, float)
                else v
                for v in r
            ])


root = Path(__file__).resolve().parent
for name in EXAMPLES:
    seeds = root / name / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    write(seeds / "raw_stations.csv", ["station_id", "station_name", "city", "opened_on"], stations)
    write(seeds / "raw_members.csv", ["member_id", "plan", "home_station_id", "signed_up_on"], members)
    write(seeds / "raw_app_sessions.csv", ["session_id", "member_id", "session_started_at", "platform"], sessions)
    write(
        seeds / "raw_rentals.csv",
        ["rental_id", "member_id", "bike_id", "start_station_id", "end_station_id", "started_at",
         "duration_minutes", "price", "is_electric"],
        rentals,
    )
