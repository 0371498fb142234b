from keytui.cli import main

raise SystemExit(main())
