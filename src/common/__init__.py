"""What the judge, the sandbox and the course's tools share: text from a submission made safe
(``safe_text``), the START/END blocks (``blocks``), the set-up problem's exit status
(``exit_status``), atomic writes (``files``), users and processes (``processes``), the GAN
stand-in networks (``stand_ins``) and autograd's Jacobians (``jacobians``)."""
