"""The code a student writes: the MAF (flow_network.py) and the GAN losses (gan.py).

The course's autograder does ``import submission`` and reads every graded name through the
package (``submission.flow_network.MADE``, ``submission.gan.loss_nonsaturating_d``): these
two imports make both modules attributes of the package and re-export their names.
"""

from .flow_network import *  # noqa: F401,F403
from .gan import *  # noqa: F401,F403
