from surfchem.cli.main import main

raise SystemExit(main())
