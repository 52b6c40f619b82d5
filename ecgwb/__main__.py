from ecgwb.cli import main

raise SystemExit(main())
