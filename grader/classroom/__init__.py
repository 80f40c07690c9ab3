"""The classroom: class files, signed result bundles, and the instructor's view of a class.

An instructor creates a class (``classfile``), learners join it and sit the same exam form,
submit a signed bundle (``bundles``), and the instructor collects the bundles (``collect``)
and reads the class (``roster``, ``items``, ``report_html``, ``exports``). ``grading`` grades
learners' cluster namespaces. Nothing here imports Textual.
"""
